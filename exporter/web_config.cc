#include "exporter/web_config.h"

#include <yaml.h>

#include <cassert>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

namespace pum {
namespace {

// Owns a libyaml parser reading `text`, which must outlive it.
class YamlParser {
 public:
  explicit YamlParser(const std::string& text) {
    ok_ = yaml_parser_initialize(&parser_) != 0;
    if (ok_) {
      yaml_parser_set_input_string(
          &parser_, reinterpret_cast<const unsigned char*>(text.data()),
          text.size());
    }
  }
  ~YamlParser() {
    if (ok_) yaml_parser_delete(&parser_);
  }
  YamlParser(const YamlParser&) = delete;
  YamlParser& operator=(const YamlParser&) = delete;

  // False if libyaml could not start (no memory).
  bool ok() const { return ok_; }
  yaml_parser_t* get() { return &parser_; }

 private:
  yaml_parser_t parser_;
  bool ok_ = false;
};

// Owns a parsed libyaml document.
class YamlDocument {
 public:
  YamlDocument() { std::memset(&document_, 0, sizeof(document_)); }
  ~YamlDocument() {
    if (loaded_) yaml_document_delete(&document_);
  }
  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;

  // Parses the first document of `text`; a second document is an error.
  Status Load(const std::string& text, const std::string& filename) {
    YamlParser parser(text);
    if (!parser.ok()) {
      return Status::IoError(filename + ": cannot start the YAML parser");
    }
    if (!LoadFrom(parser.get())) return ParserError(*parser.get(), filename);
    YamlDocument second;
    if (!second.LoadFrom(parser.get())) {
      return ParserError(*parser.get(), filename);
    }
    if (second.root() != nullptr) {
      return Status::InvalidArgument(
          filename + ":" +
          std::to_string(second.document_.start_mark.line + 1) +
          ": a second YAML document; the web config is one mapping");
    }
    return Status::Ok();
  }

  yaml_node_t* root() { return yaml_document_get_root_node(&document_); }
  yaml_node_t* node(int index) {
    return yaml_document_get_node(&document_, index);
  }

 private:
  static Status ParserError(const yaml_parser_t& parser,
                            const std::string& filename) {
    const yaml_mark_t& mark =
        parser.problem_mark.line || parser.problem_mark.column
            ? parser.problem_mark
            : parser.context_mark;
    std::string message = filename + ":" + std::to_string(mark.line + 1) +
                          ": not valid YAML: " +
                          (parser.problem ? parser.problem : "parse error");
    if (parser.context) message += std::string(" ") + parser.context;
    return Status::InvalidArgument(message);
  }

  // The parser's next document; false on a parse error (libyaml then
  // leaves nothing to delete).
  bool LoadFrom(yaml_parser_t* parser) {
    assert(!loaded_);
    loaded_ = yaml_parser_load(parser, &document_) != 0;
    return loaded_;
  }

  yaml_document_t document_;
  bool loaded_ = false;
};

class Parser {
 public:
  Parser(YamlDocument* doc, std::string filename)
      : doc_(doc), filename_(std::move(filename)) {
    size_t slash = filename_.rfind('/');
    dir_ = slash == std::string::npos ? "" : filename_.substr(0, slash + 1);
  }

  Status Parse(WebConfig* out) {
    yaml_node_t* root = doc_->root();
    if (root == nullptr || IsNull(root)) return Status::Ok();  // empty file
    if (root->type != YAML_MAPPING_NODE) {
      return Error(root, "the web config must be a YAML mapping");
    }
    return ForEachKey(
        root, "", [&](const std::string& key, yaml_node_t* value) -> Status {
          if (key == "tls_server_config") return ParseTls(value, &out->tls);
          if (key == "http_server_config") return ParseHttp(value, out);
          if (key == "basic_auth_users") return ParseUsers(value, out);
          if (key == "rate_limit") {
            return Error(value,
                         "rate_limit is not supported by pum-exporter (rate "
                         "limit in front of it, e.g. in the web server)");
          }
          return Error(value, "unknown key \"" + key + "\"");
        });
  }

 private:
  Status Error(const yaml_node_t* node, const std::string& problem) const {
    return Status::InvalidArgument(filename_ + ":" +
                                   std::to_string(node->start_mark.line + 1) +
                                   ": " + problem);
  }

  static bool IsNull(const yaml_node_t* node) {
    if (node->type != YAML_SCALAR_NODE) return false;
    if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    std::string v(reinterpret_cast<const char*>(node->data.scalar.value),
                  node->data.scalar.length);
    return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
  }

  static std::string Scalar(const yaml_node_t* node) {
    return std::string(reinterpret_cast<const char*>(node->data.scalar.value),
                       node->data.scalar.length);
  }

  // Calls `fn(key, value)` for each entry of a mapping; keys must be
  // scalars and unique. `where` prefixes messages ("tls_server_config.").
  template <typename Fn>
  Status ForEachKey(yaml_node_t* mapping, const std::string& where, Fn fn) {
    std::set<std::string> seen;
    for (yaml_node_pair_t* pair = mapping->data.mapping.pairs.start;
         pair < mapping->data.mapping.pairs.top; ++pair) {
      yaml_node_t* key = doc_->node(pair->key);
      yaml_node_t* value = doc_->node(pair->value);
      if (key == nullptr || value == nullptr) {
        return Error(mapping, "malformed mapping");
      }
      if (key->type != YAML_SCALAR_NODE) {
        return Error(key, where + "keys must be strings");
      }
      std::string name = Scalar(key);
      if (!seen.insert(name).second) {
        return Error(key, "\"" + where + name + "\" is given twice");
      }
      Status status = fn(name, value);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  }

  Status String(yaml_node_t* node, const std::string& name, std::string* out) {
    if (node->type != YAML_SCALAR_NODE) {
      return Error(node, name + " must be a string");
    }
    *out = IsNull(node) ? "" : Scalar(node);
    return Status::Ok();
  }

  Status Path(yaml_node_t* node, const std::string& name, std::string* out) {
    Status status = String(node, name, out);
    if (!status.ok()) return status;
    if (out->empty()) return Error(node, name + " is empty");
    if ((*out)[0] != '/') *out = dir_ + *out;
    return Status::Ok();
  }

  Status Bool(yaml_node_t* node, const std::string& name) {
    std::string v;
    if (node->type != YAML_SCALAR_NODE ||
        ((v = Scalar(node)) != "true" && v != "false")) {
      return Error(node, name + " must be true or false");
    }
    return Status::Ok();
  }

  Status Version(yaml_node_t* node, const std::string& name, int* out) {
    std::string v;
    Status status = String(node, name, &v);
    if (!status.ok()) return status;
    static const std::pair<const char*, int> kVersions[] = {
        {"TLS10", 10}, {"TLS11", 11}, {"TLS12", 12}, {"TLS13", 13}};
    for (const auto& version : kVersions) {
      if (v == version.first) {
        *out = version.second;
        return Status::Ok();
      }
    }
    return Error(node, name + " must be TLS10, TLS11, TLS12 or TLS13, not \"" +
                           v + "\"");
  }

  Status ParseTls(yaml_node_t* node, TlsServerConfig* tls) {
    if (node->type != YAML_MAPPING_NODE) {
      return Error(node,
                   "tls_server_config must be a mapping (cert_file, "
                   "key_file, ...)");
    }
    tls->enabled = true;
    const std::string w = "tls_server_config.";
    Status status = ForEachKey(
        node, w, [&](const std::string& key, yaml_node_t* v) -> Status {
          if (key == "cert_file") return Path(v, w + key, &tls->cert_file);
          if (key == "key_file") return Path(v, w + key, &tls->key_file);
          if (key == "client_ca_file") {
            return Path(v, w + key, &tls->client_ca_file);
          }
          if (key == "cert") return String(v, w + key, &tls->cert_pem);
          if (key == "key") return String(v, w + key, &tls->key_pem);
          if (key == "client_ca")
            return String(v, w + key, &tls->client_ca_pem);
          if (key == "client_auth_type")
            return AuthType(v, &tls->client_auth_type);
          if (key == "min_version") {
            return Version(v, w + key, &tls->min_version);
          }
          if (key == "max_version") {
            return Version(v, w + key, &tls->max_version);
          }
          if (key == "prefer_server_cipher_suites") return Bool(v, w + key);
          if (key == "cipher_suites" || key == "curve_preferences" ||
              key == "client_allowed_sans") {
            return Error(v, w + key + " is not supported by pum-exporter");
          }
          return Error(v, "unknown key \"" + w + key + "\"");
        });
    if (!status.ok()) return status;
    if (!tls->cert_file.empty() && !tls->cert_pem.empty()) {
      return Error(node, "give tls_server_config.cert_file or cert, not both");
    }
    if (!tls->key_file.empty() && !tls->key_pem.empty()) {
      return Error(node, "give tls_server_config.key_file or key, not both");
    }
    if (!tls->client_ca_file.empty() && !tls->client_ca_pem.empty()) {
      return Error(node,
                   "give tls_server_config.client_ca_file or client_ca, "
                   "not both");
    }
    bool has_cert = !tls->cert_file.empty() || !tls->cert_pem.empty();
    bool has_key = !tls->key_file.empty() || !tls->key_pem.empty();
    if (!has_cert) {
      return Error(node, "tls_server_config needs cert_file (or cert)");
    }
    if (!has_key)
      return Error(node, "tls_server_config needs key_file (or key)");
    bool has_ca = !tls->client_ca_file.empty() || !tls->client_ca_pem.empty();
    bool verifies =
        tls->client_auth_type == ClientAuthType::kVerifyClientCertIfGiven ||
        tls->client_auth_type == ClientAuthType::kRequireAndVerifyClientCert;
    if (has_ca && !verifies) {
      return Error(node,
                   "tls_server_config.client_ca_file is given but "
                   "client_auth_type does not verify client certificates "
                   "(use RequireAndVerifyClientCert)");
    }
    if (verifies && !has_ca) {
      return Error(node,
                   "tls_server_config.client_auth_type verifies client "
                   "certificates but no client_ca_file is given");
    }
    if (tls->min_version > tls->max_version) {
      return Error(node, "tls_server_config.min_version is above max_version");
    }
    return Status::Ok();
  }

  Status AuthType(yaml_node_t* node, ClientAuthType* out) {
    std::string v;
    Status status = String(node, "tls_server_config.client_auth_type", &v);
    if (!status.ok()) return status;
    static const std::pair<const char*, ClientAuthType> kTypes[] = {
        {"NoClientCert", ClientAuthType::kNoClientCert},
        {"RequestClientCert", ClientAuthType::kRequestClientCert},
        {"RequireAnyClientCert", ClientAuthType::kRequireAnyClientCert},
        {"VerifyClientCertIfGiven", ClientAuthType::kVerifyClientCertIfGiven},
        {"RequireAndVerifyClientCert",
         ClientAuthType::kRequireAndVerifyClientCert},
    };
    for (const auto& type : kTypes) {
      if (v == type.first) {
        *out = type.second;
        return Status::Ok();
      }
    }
    return Error(node, "tls_server_config.client_auth_type \"" + v +
                           "\" is not one of NoClientCert, RequestClientCert, "
                           "RequireAnyClientCert, VerifyClientCertIfGiven, "
                           "RequireAndVerifyClientCert");
  }

  Status ParseHttp(yaml_node_t* node, WebConfig* out) {
    if (node->type != YAML_MAPPING_NODE) {
      return Error(node, "http_server_config must be a mapping");
    }
    const std::string w = "http_server_config.";
    return ForEachKey(node, w,
                      [&](const std::string& key, yaml_node_t* v) -> Status {
                        if (key == "http2") return Bool(v, w + key);
                        if (key == "headers") return ParseHeaders(v, out);
                        return Error(v, "unknown key \"" + w + key + "\"");
                      });
  }

  Status ParseHeaders(yaml_node_t* node, WebConfig* out) {
    if (node->type != YAML_MAPPING_NODE) {
      return Error(node, "http_server_config.headers must be a mapping");
    }
    const std::string w = "http_server_config.headers.";
    return ForEachKey(
        node, w, [&](const std::string& key, yaml_node_t* v) -> Status {
          std::string value;
          Status status = String(v, w + key, &value);
          if (!status.ok()) return status;
          if (value.find_first_of("\r\n") != std::string::npos) {
            return Error(v, w + key + " must be one line");
          }
          if (key == "X-Frame-Options" && !value.empty() && value != "deny" &&
              value != "sameorigin") {
            return Error(v, w + key + " must be deny or sameorigin");
          }
          if (key == "X-Content-Type-Options" && !value.empty() &&
              value != "nosniff") {
            return Error(v, w + key + " must be nosniff");
          }
          if (key != "Content-Security-Policy" && key != "X-Frame-Options" &&
              key != "X-Content-Type-Options" && key != "X-XSS-Protection" &&
              key != "Strict-Transport-Security") {
            return Error(v, "unknown header \"" + key +
                                "\" (exporter-toolkit allows "
                                "Content-Security-Policy, X-Frame-Options, "
                                "X-Content-Type-Options, X-XSS-Protection, "
                                "Strict-Transport-Security)");
          }
          if (!value.empty()) out->headers.emplace_back(key, value);
          return Status::Ok();
        });
  }

  Status ParseUsers(yaml_node_t* node, WebConfig* out) {
    if (IsNull(node)) return Status::Ok();
    if (node->type != YAML_MAPPING_NODE) {
      return Error(node, "basic_auth_users must be a mapping of user: hash");
    }
    return ForEachKey(
        node, "basic_auth_users.",
        [&](const std::string& user, yaml_node_t* v) -> Status {
          if (user.empty() || user.find(':') != std::string::npos) {
            return Error(v,
                         "basic_auth_users: a user name must be non-empty "
                         "and hold no ':'");
          }
          std::string hash;
          Status status = String(v, "basic_auth_users." + user, &hash);
          if (!status.ok()) return status;
          if (!IsBcryptHash(hash)) {
            return Error(v, "basic_auth_users." + user +
                                " is not a bcrypt hash ($2y$10$ and 53 "
                                "characters, e.g. from htpasswd -nBC 10)");
          }
          out->basic_auth_users[user] = hash;
          return Status::Ok();
        });
  }

  YamlDocument* doc_;
  std::string filename_;
  std::string dir_;
};

}  // namespace

bool IsBcryptHash(const std::string& hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' ||
      hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '3' || hash[5] < '0' || hash[5] > '9') {
    return false;
  }
  int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  static const char kAlphabet[] =
      "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return hash.find_first_not_of(kAlphabet, 7) == std::string::npos;
}

Status ParseWebConfig(const std::string& text, const std::string& filename,
                      WebConfig* out) {
  YamlDocument doc;
  Status status = doc.Load(text, filename);
  if (!status.ok()) return status;
  WebConfig config;
  status = Parser(&doc, filename).Parse(&config);
  if (!status.ok()) return status;
  *out = std::move(config);
  return Status::Ok();
}

Status LoadWebConfig(const std::string& filename, WebConfig* out) {
  std::ifstream in(filename, std::ios::binary);
  if (!in) {
    return Status::NotFound(filename + ": cannot read the web config file: " +
                            std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseWebConfig(text.str(), filename, out);
}

}  // namespace pum
