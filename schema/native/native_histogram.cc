#include "schema/native/native_histogram.h"

#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

namespace pum {
namespace {

using Buckets = std::vector<std::pair<int32_t, uint64_t>>;

// The upper bounds in [0.5, 1) of the 256 buckets of one power of two at
// schema 8: 2^(k/256) / 2, k = 0..255, the values of client_golang's
// nativeHistogramBounds[8] (the server's exponentialBounds[8]). Schema s > 0
// uses every 2^(8-s)th of them: Prometheus' tables for the lower schemas are
// exactly these subsamples (checked in the test against its schema 2 and 3
// tables).
// clang-format off
constexpr double kBounds8[256] = {
  0.5, 0.5013556375251013, 0.5027149505564014, 0.5040779490592088,
  0.5054446430258502, 0.5068150424757447, 0.5081891574554764, 0.509566998038869,
  0.5109485743270583, 0.5123338964485679, 0.5137229745593818, 0.5151158188430205,
  0.5165124395106142, 0.5179128468009786, 0.5193170509806894, 0.520725062344158,
  0.5221368912137069, 0.5235525479396449, 0.5249720429003435, 0.526395386502313,
  0.5278225891802786, 0.5292536613972564, 0.5306886136446309, 0.5321274564422321,
  0.5335702003384117, 0.5350168559101208, 0.5364674337629877, 0.5379219445313954,
  0.5393803988785598, 0.5408428074966075, 0.5423091811066545, 0.5437795304588847,
  0.5452538663326288, 0.5467321995364429, 0.5482145409081883, 0.549700901315111,
  0.5511912916539204, 0.5526857228508706, 0.5541842058618393, 0.5556867516724088,
  0.5571933712979462, 0.5587040757836845, 0.5602188762048033, 0.5617377836665098,
  0.5632608093041209, 0.564787964283144, 0.5663192597993595, 0.5678547070789026,
  0.5693943173783458, 0.5709381019847808, 0.572486072215902, 0.5740382394200894,
  0.5755946149764913, 0.5771552102951081, 0.5787200368168754, 0.5802891060137493,
  0.5818624293887887, 0.5834400184762408, 0.585021884841625, 0.5866080400818185,
  0.5881984958251406, 0.5897932637314379, 0.5913923554921704, 0.5929957828304968,
  0.5946035575013605, 0.5962156912915756, 0.5978321960199137, 0.5994530835371903,
  0.6010783657263515, 0.6027080545025619, 0.6043421618132907, 0.6059806996384005,
  0.6076236799902344, 0.6092711149137041, 0.6109230164863786, 0.6125793968185725,
  0.6142402680534349, 0.6159056423670379, 0.6175755319684665, 0.6192499490999082,
  0.620928906036742, 0.622612415087629, 0.6243004885946023, 0.6259931389331581,
  0.6276903785123455, 0.6293922197748583, 0.6310986751971253, 0.6328097572894031,
  0.6345254785958666, 0.6362458516947014, 0.637970889198196, 0.6397006037528346,
  0.6414350080393891, 0.6431741147730128, 0.6449179367033329, 0.6466664866145447,
  0.6484197773255048, 0.6501778216898253, 0.6519406325959679, 0.6537082229673385,
  0.6554806057623822, 0.6572577939746774, 0.659039800633032, 0.6608266388015788,
  0.6626183215798706, 0.6644148621029772, 0.6662162735415805, 0.6680225691020727,
  0.6698337620266515, 0.6716498655934177, 0.6734708931164728, 0.6752968579460171,
  0.6771277734684463, 0.6789636531064505, 0.6808045103191123, 0.6826503586020058,
  0.6845012114872953, 0.6863570825438342, 0.688217985377265, 0.690083933630119,
  0.6919549409819159, 0.6938310211492645, 0.6957121878859629, 0.6975984549830999,
  0.6994898362691555, 0.7013863456101023, 0.7032879969095076, 0.7051948041086352,
  0.7071067811865475, 0.7090239421602076, 0.7109463010845827, 0.7128738720527471,
  0.7148066691959849, 0.7167447066838943, 0.718687998724491, 0.7206365595643126,
  0.7225904034885232, 0.7245495448210174, 0.7265139979245261, 0.7284837772007218,
  0.7304588970903234, 0.7324393720732029, 0.7344252166684908, 0.7364164454346837,
  0.7384130729697496, 0.7404151139112358, 0.7424225829363761, 0.7444354947621984,
  0.7464538641456323, 0.7484777058836176, 0.7505070348132126, 0.7525418658117031,
  0.7545822137967112, 0.7566280937263048, 0.7586795205991071, 0.7607365094544071,
  0.762799075372269, 0.7648672334736434, 0.7669409989204777, 0.7690203869158282,
  0.7711054127039704, 0.7731960915705107, 0.7752924388424999, 0.7773944698885442,
  0.7795022001189185, 0.7816156449856788, 0.7837348199827764, 0.7858597406461707,
  0.7879904225539431, 0.7901268813264122, 0.7922691326262467, 0.7944171921585818,
  0.7965710756711334, 0.7987307989543135, 0.8008963778413465, 0.8030678282083853,
  0.805245165974627, 0.8074284071024302, 0.8096175675974316, 0.8118126635086642,
  0.8140137109286738, 0.8162207259936375, 0.8184337248834821, 0.820652723822003,
  0.8228777390769823, 0.8251087869603088, 0.8273458838280969, 0.8295890460808079,
  0.8318382901633681, 0.8340936325652911, 0.8363550898207981, 0.8386226785089391,
  0.8408964152537144, 0.8431763167241966, 0.8454623996346523, 0.8477546807446661,
  0.8500531768592616, 0.8523579048290255, 0.8546688815502312, 0.8569861239649629,
  0.8593096490612387, 0.8616394738731368, 0.8639756154809185, 0.8663180910111553,
  0.8686669176368529, 0.871022112577578, 0.8733836930995842, 0.8757516765159389,
  0.8781260801866495, 0.8805069215187917, 0.8828942179666361, 0.8852879870317771,
  0.8876882462632604, 0.890095013257712, 0.8925083056594671, 0.8949281411607002,
  0.8973545375015533, 0.8997875124702672, 0.9022270839033115, 0.9046732696855155,
  0.9071260877501991, 0.909585556079304, 0.9120516927035263, 0.9145245157024483,
  0.9170040432046711, 0.9194902933879467, 0.9219832844793128, 0.9244830347552253,
  0.9269895625416926, 0.92950288621441, 0.9320230241988943, 0.9345499949706191,
  0.9370838170551498, 0.93962450902828, 0.9421720895161669, 0.9447265771954693,
  0.9472879907934827, 0.9498563490882775, 0.9524316709088368, 0.9550139751351947,
  0.9576032806985735, 0.9601996065815236, 0.9628029718180622, 0.9654133954938133,
  0.9680308967461471, 0.9706554947643201, 0.9732872087896164, 0.9759260581154889,
  0.9785720620876999, 0.9812252401044634, 0.9838856116165875, 0.9865531961276168,
  0.9892280131939752, 0.9919100824251095, 0.9945994234836328, 0.9972960560854698,
};
// clang-format on

// The fraction in [0.5, 1) of bound k (0..2^schema - 1) at schema 0..8.
double TableBound(int schema, int32_t k) { return kBounds8[k << (8 - schema)]; }

// floor(x / 2^shift) and ceil(x / 2^shift), for any sign of x.
int64_t FloorShift(int64_t x, int shift) {
  const int64_t d = int64_t{1} << shift;
  return x >= 0 ? x / d : -((-x + d - 1) / d);
}

int64_t CeilShift(int64_t x, int shift) { return -FloorShift(-x, shift); }

bool ValidSchema(int schema) {
  return schema >= kNativeMinSchema && schema <= kNativeMaxSchema;
}

// The index of a finite abs_value > 0.
int32_t FiniteIndex(double abs_value, int schema) {
  int exp = 0;
  const double frac = std::frexp(abs_value, &exp);  // [0.5, 1)
  if (schema > 0) {
    // The first k whose bound is >= frac (2^schema if none), as Go's
    // sort.SearchFloat64s.
    int32_t lo = 0, hi = int32_t{1} << schema;
    while (lo < hi) {
      const int32_t mid = lo + (hi - lo) / 2;
      if (TableBound(schema, mid) < frac) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo + (exp - 1) * (int32_t{1} << schema);
  }
  // Schema 0: 2^(exp-1) < v <= 2^exp, except v == 2^(exp-1) exactly.
  const int64_t key = frac == 0.5 ? exp - 1 : exp;
  return static_cast<int32_t>(CeilShift(key, -schema));
}

// The bucket lower bound (the upper bound of the one below).
double LowerBound(int32_t index, int schema) {
  return NativeBucketUpperBound(index - 1, schema);
}

// Adds n to bucket `index` of the sorted `buckets`.
void AddToBucket(int32_t index, uint64_t n, Buckets* buckets) {
  auto it = std::lower_bound(buckets->begin(), buckets->end(), index,
                             [](const std::pair<int32_t, uint64_t>& b,
                                int32_t i) { return b.first < i; });
  if (it != buckets->end() && it->first == index) {
    it->second += n;
  } else {
    buckets->insert(it, {index, n});
  }
}

// Maps every index i to ceil(i / 2^shift), merging the buckets that meet.
void ReduceBuckets(int shift, Buckets* buckets) {
  size_t out = 0;
  for (size_t i = 0; i < buckets->size(); ++i) {
    const int32_t index =
        static_cast<int32_t>(CeilShift((*buckets)[i].first, shift));
    if (out > 0 && (*buckets)[out - 1].first == index) {
      (*buckets)[out - 1].second += (*buckets)[i].second;
    } else {
      (*buckets)[out++] = {index, (*buckets)[i].second};
    }
  }
  buckets->resize(out);
}

// Adds the sorted `from` into the sorted `*into`.
void AddBuckets(const Buckets& from, Buckets* into) {
  Buckets sum;
  sum.reserve(from.size() + into->size());
  size_t a = 0, b = 0;
  while (a < from.size() || b < into->size()) {
    if (b == into->size() ||
        (a < from.size() && from[a].first < (*into)[b].first)) {
      sum.push_back(from[a++]);
    } else if (a == from.size() || (*into)[b].first < from[a].first) {
      sum.push_back((*into)[b++]);
    } else {
      sum.emplace_back(from[a].first, from[a].second + (*into)[b].second);
      ++a;
      ++b;
    }
  }
  into->swap(sum);
}

// Moves the buckets of `buckets` whose lower bound is below *threshold into
// *zero_count, raising *threshold to the upper bound of one that reaches
// above it. Returns true if it raised *threshold.
bool TrimBelow(int schema, double* threshold, uint64_t* zero_count,
               Buckets* buckets) {
  bool raised = false;
  size_t n = 0;
  while (n < buckets->size() &&
         LowerBound((*buckets)[n].first, schema) < *threshold) {
    *zero_count += (*buckets)[n].second;
    const double upper = NativeBucketUpperBound((*buckets)[n].first, schema);
    if (upper > *threshold) {
      *threshold = upper;
      raised = true;
    }
    ++n;
  }
  buckets->erase(buckets->begin(), buckets->begin() + n);
  return raised;
}

// ---------------------------------------------------------------- codec

constexpr char kVersion = 1;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutBuckets(const Buckets& buckets, std::string* out) {
  PutVarint(buckets.size(), out);
  int64_t previous = 0;
  for (const auto& [index, count] : buckets) {
    PutVarint(ZigZag(index - previous), out);
    PutVarint(count, out);
    previous = index;
  }
}

// Reads canonical LEB128 varints: at most 10 bytes, no bits past 64, no
// redundant trailing zero byte.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool Varint(uint64_t* v) {
    *v = 0;
    for (int i = 0; i < 10; ++i) {
      if (in_.empty()) return false;
      const uint8_t byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      if (i == 9 && byte > 1) return false;
      if (i > 0 && byte == 0) return false;
      *v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  bool Fixed64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = 0;
    for (int i = 7; i >= 0; --i) {
      *v = (*v << 8) | static_cast<uint8_t>(in_[i]);
    }
    in_.remove_prefix(8);
    return true;
  }

  size_t remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

bool AddChecked(uint64_t n, uint64_t* total) {
  if (n > std::numeric_limits<uint64_t>::max() - *total) return false;
  *total += n;
  return true;
}

bool GetBuckets(Reader* r, int schema, double threshold, uint64_t* total,
                Buckets* buckets) {
  uint64_t n = 0;
  if (!r->Varint(&n)) return false;
  if (n > r->remaining() / 2) return false;  // 2 bytes a bucket at least
  buckets->clear();
  buckets->reserve(n);
  const int64_t min_index = NativeMinBucketIndex(schema);
  const int64_t max_index = NativeMaxBucketIndex(schema);
  int64_t index = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t zigzag = 0, count = 0;
    if (!r->Varint(&zigzag) || !r->Varint(&count)) return false;
    const int64_t delta = UnZigZag(zigzag);
    if (i > 0 && delta <= 0) return false;
    // |delta| is checked against the range before it is added.
    if (delta < min_index - max_index || delta > max_index - min_index) {
      return false;
    }
    index += delta;
    if (index < min_index || index > max_index) return false;
    if (i == 0 && !(NativeBucketUpperBound(static_cast<int32_t>(index),
                                           schema) > threshold)) {
      return false;
    }
    if (count == 0 || !AddChecked(count, total)) return false;
    buckets->emplace_back(static_cast<int32_t>(index), count);
  }
  return true;
}

uint64_t DoubleBits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

double BitsDouble(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

}  // namespace

int32_t NativeBucketIndex(double abs_value, int schema) {
  assert(abs_value > 0 && ValidSchema(schema));
  if (std::isinf(abs_value)) return FiniteIndex(DBL_MAX, schema) + 1;
  return FiniteIndex(abs_value, schema);
}

double NativeBucketUpperBound(int32_t index, int schema) {
  assert(ValidSchema(schema));
  if (schema < 0) {
    const int64_t exp = static_cast<int64_t>(index) * (int64_t{1} << -schema);
    if (exp == 1024) return DBL_MAX;
    if (exp > 1024) return HUGE_VAL;
    if (exp < -1100) return 0;
    return std::ldexp(1.0, static_cast<int>(exp));
  }
  const int32_t per_octave = int32_t{1} << schema;
  const int32_t k = index & (per_octave - 1);  // two's complement: floor mod
  const int64_t exp = FloorShift(index, schema) + 1;
  const double frac = TableBound(schema, k);
  if (frac == 0.5 && exp == 1025) return DBL_MAX;
  if (exp > 1025) return HUGE_VAL;
  if (exp < -1100) return 0;
  return std::ldexp(frac, static_cast<int>(exp));
}

int32_t NativeMinBucketIndex(int schema) {
  return NativeBucketIndex(std::numeric_limits<double>::denorm_min(), schema);
}

int32_t NativeMaxBucketIndex(int schema) {
  return NativeBucketIndex(HUGE_VAL, schema);
}

bool NativeHistogram::operator==(const NativeHistogram& other) const {
  return schema == other.schema && zero_threshold == other.zero_threshold &&
         zero_count == other.zero_count && positive == other.positive &&
         negative == other.negative;
}

void ObserveNative(double value, uint64_t n, NativeHistogram* h) {
  if (n == 0 || std::isnan(value)) return;
  if (value > h->zero_threshold) {
    AddToBucket(NativeBucketIndex(value, h->schema), n, &h->positive);
  } else if (value < -h->zero_threshold) {
    AddToBucket(NativeBucketIndex(-value, h->schema), n, &h->negative);
  } else {
    h->zero_count += n;
  }
}

void ReduceNativeSchema(int schema, NativeHistogram* h) {
  assert(schema >= kNativeMinSchema);
  if (schema >= h->schema) return;
  const int shift = h->schema - schema;
  ReduceBuckets(shift, &h->positive);
  ReduceBuckets(shift, &h->negative);
  h->schema = schema;
}

double WidenNativeZeroBucket(double threshold, NativeHistogram* h) {
  assert(threshold >= h->zero_threshold);
  // A raise on one side may move more buckets of the other.
  bool raised = true;
  while (raised) {
    raised = TrimBelow(h->schema, &threshold, &h->zero_count, &h->positive);
    raised |= TrimBelow(h->schema, &threshold, &h->zero_count, &h->negative);
  }
  h->zero_threshold = threshold;
  return threshold;
}

void MergeNative(const NativeHistogram& delta, NativeHistogram* h) {
  ReduceNativeSchema(delta.schema, h);
  const NativeHistogram* from = &delta;
  NativeHistogram copy;
  if (delta.schema > h->schema || delta.zero_threshold != h->zero_threshold) {
    copy = delta;
    ReduceNativeSchema(h->schema, &copy);
    double threshold = std::max(h->zero_threshold, copy.zero_threshold);
    while (h->zero_threshold != threshold || copy.zero_threshold != threshold) {
      threshold = WidenNativeZeroBucket(threshold, h);
      threshold = WidenNativeZeroBucket(threshold, &copy);
    }
    from = &copy;
  }
  h->zero_count += from->zero_count;
  AddBuckets(from->positive, &h->positive);
  AddBuckets(from->negative, &h->negative);
}

bool LimitNativeBuckets(uint32_t max_buckets, NativeHistogram* h) {
  const int before = h->schema;
  while (h->positive.size() + h->negative.size() > max_buckets &&
         h->schema > kNativeMinSchema) {
    ReduceNativeSchema(h->schema - 1, h);
  }
  return h->schema != before;
}

uint64_t NativeTotalCount(const NativeHistogram& h) {
  uint64_t total = h.zero_count;
  for (const auto& b : h.positive) total += b.second;
  for (const auto& b : h.negative) total += b.second;
  return total;
}

std::string EncodeNative(const NativeHistogram& h) {
  std::string out(1, kVersion);
  PutVarint(ZigZag(h.schema), &out);
  if (DoubleBits(h.zero_threshold) == DoubleBits(kNativeZeroThreshold)) {
    PutVarint(0, &out);
  } else {
    PutVarint(1, &out);
    uint64_t bits = DoubleBits(h.zero_threshold);
    for (int i = 0; i < 8; ++i, bits >>= 8) {
      out.push_back(static_cast<char>(bits & 0xff));
    }
  }
  PutVarint(h.zero_count, &out);
  PutBuckets(h.positive, &out);
  PutBuckets(h.negative, &out);
  return out;
}

bool DecodeNative(std::string_view bytes, NativeHistogram* out) {
  if (bytes.empty() || bytes.front() != kVersion) return false;
  Reader r(bytes.substr(1));
  uint64_t zigzag_schema = 0, tag = 0;
  if (!r.Varint(&zigzag_schema)) return false;
  const int64_t schema = UnZigZag(zigzag_schema);
  if (schema < kNativeMinSchema || schema > kNativeMaxSchema) return false;
  out->schema = static_cast<int>(schema);
  if (!r.Varint(&tag) || tag > 1) return false;
  out->zero_threshold = kNativeZeroThreshold;
  if (tag == 1) {
    uint64_t bits = 0;
    if (!r.Fixed64(&bits)) return false;
    const double t = BitsDouble(bits);
    if (bits == DoubleBits(kNativeZeroThreshold) || std::signbit(t) ||
        !std::isfinite(t)) {
      return false;
    }
    out->zero_threshold = t;
  }
  if (!r.Varint(&out->zero_count)) return false;
  uint64_t total = out->zero_count;
  return GetBuckets(&r, out->schema, out->zero_threshold, &total,
                    &out->positive) &&
         GetBuckets(&r, out->schema, out->zero_threshold, &total,
                    &out->negative) &&
         r.remaining() == 0;
}

}  // namespace pum
