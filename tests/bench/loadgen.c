/* loadgen: the benchmark's open-loop, constant-rate HTTP/1.1 load generator
 * (tests/bench/bench.mjs; `make bench` builds it into $BUILD/bench/loadgen).
 *
 * wrk is closed-loop: a connection sends its next request only once the
 * previous one is answered, so when the server stalls, wrk stops sending and
 * the stall is measured once instead of for every request that should have
 * been sent meanwhile ("coordinated omission"). Debian has no wrk2. loadgen
 * sends request i at the fixed time t0 + i / rate, whatever the answers do,
 * and measures each latency from that SCHEDULED time to the end of the
 * answer. A request that is due while every connection is busy waits in a
 * backlog, and that wait is part of its latency, as it would be for a
 * browser.
 *
 *   loadgen --port P --rate R (--seconds S | --count N) --body FILE
 *           [--host 127.0.0.1] [--path /record] [--connections C]
 *           [--mode fixed|unique] [--run PREFIX] [--drain-seconds D]
 *
 * --connections C (default 64) keep-alive connections are opened at the
 * start, each with at most one request in flight (no pipelining, as a
 * browser). A connection the server closes (Connection: close, EOF, error)
 * is reopened; the request it carried counts as an error, not a latency.
 * --mode fixed POSTs FILE as it is every time; --mode unique reads FILE as
 * an array of events and POSTs pum's {"client", "seq", "events"} shape
 * with a fresh (client, seq) per request: request i is client
 * "PREFIX-(i mod 1024)", seq floor(i / 1024), as tests/bench/post.lua does.
 * The schedule ends after S seconds (or N requests); what is still due or
 * in flight then gets up to D seconds (default 10) to finish; what has not
 * by then counts as "unfinished".
 *
 * Prints one line `LOADGEN_RESULT {json}`: the counts (sent, completed,
 * per status class, errors, unfinished), the latency percentiles from the
 * scheduled time and from the actual send (microseconds), the backlog's
 * peak, how many requests were sent more than 1 ms late (the generator or
 * its connections could not keep up: a high share means the rate is above
 * what the server sustains), and loadgen's own CPU time. Exit status 0 when
 * it could measure, 2 on bad usage or if no connection could be opened. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { kReadBuf = 16384, kMaxConns = 4096 };

typedef struct {
  const char *host;
  int port;
  const char *path;
  double rate;
  double seconds;
  long count;
  int connections;
  const char *body_file;
  int unique;
  const char *run;
  double drain_seconds;
} Options;

typedef enum { kClosed, kConnecting, kIdle, kWriting, kReading } ConnState;

typedef struct {
  int fd;
  ConnState state;
  char *out; /* the request being written */
  size_t out_len, out_off;
  long index;      /* the request in flight */
  int64_t sent_ns; /* when its first byte was written */
  char in[kReadBuf];
  size_t in_len;
  /* response parsing */
  int have_head;
  int status;
  int close_after;
  int chunked;
  long content_length; /* -1: unknown */
  size_t body_start;
} Conn;

static Options opt;
static char *body; /* fixed: the body; unique: the events array */
static size_t body_len;
static struct sockaddr_in addr;
static int epfd;
static Conn conns[kMaxConns];

static long sent, completed, status_class[6], err_connect, err_io, err_parse;
static long late_1ms, max_backlog;
static uint32_t *lat_sched, *lat_service;
static size_t lat_cap;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s\n", what);
  exit(2);
}

static void usage(void) {
  die("usage: loadgen --port P --rate R (--seconds S | --count N) --body FILE"
      " [--host H] [--path P] [--connections C] [--mode fixed|unique]"
      " [--run PREFIX] [--drain-seconds D]");
}

static void parse_args(int argc, char **argv) {
  opt.host = "127.0.0.1";
  opt.path = "/record";
  opt.connections = 64;
  opt.run = "loadgen";
  opt.drain_seconds = 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    if (!strcmp(a, "--host")) opt.host = v;
    else if (!strcmp(a, "--port")) opt.port = atoi(v);
    else if (!strcmp(a, "--path")) opt.path = v;
    else if (!strcmp(a, "--rate")) opt.rate = atof(v);
    else if (!strcmp(a, "--seconds")) opt.seconds = atof(v);
    else if (!strcmp(a, "--count")) opt.count = atol(v);
    else if (!strcmp(a, "--connections")) opt.connections = atoi(v);
    else if (!strcmp(a, "--body")) opt.body_file = v;
    else if (!strcmp(a, "--mode")) {
      if (!strcmp(v, "unique")) opt.unique = 1;
      else if (strcmp(v, "fixed")) usage();
    } else if (!strcmp(a, "--run")) opt.run = v;
    else if (!strcmp(a, "--drain-seconds")) opt.drain_seconds = atof(v);
    else usage();
    i++;
  }
  if (opt.port <= 0 || opt.port > 65535 || !(opt.rate > 0) || !opt.body_file ||
      opt.connections < 1 || opt.connections > kMaxConns ||
      (opt.seconds > 0) == (opt.count > 0) || opt.drain_seconds < 0)
    usage();
  if (opt.count <= 0) opt.count = (long)(opt.rate * opt.seconds + 0.5);
  if (opt.count <= 0) usage();
}

static void read_body(void) {
  FILE *f = fopen(opt.body_file, "rb");
  struct stat st;
  if (!f || fstat(fileno(f), &st) != 0) die("cannot read --body");
  body_len = (size_t)st.st_size;
  body = malloc(body_len + 1);
  if (!body || fread(body, 1, body_len, f) != body_len) die("cannot read --body");
  fclose(f);
  body[body_len] = 0;
}

/* The bytes of request `index` (malloc'ed), its length in *len. */
static char *build_request(long index, size_t *len) {
  char prefix[256];
  int plen = 0;
  size_t blen = body_len;
  if (opt.unique) {
    plen = snprintf(prefix, sizeof prefix, "{\"client\":\"%s-%ld\",\"seq\":%ld,\"events\":", opt.run,
                    index % 1024, index / 1024);
    blen = (size_t)plen + body_len + 1;
  }
  char head[512];
  int hlen = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      opt.path, opt.host, opt.port, blen);
  char *r = malloc((size_t)hlen + blen);
  if (!r) die("out of memory");
  memcpy(r, head, (size_t)hlen);
  size_t off = (size_t)hlen;
  if (opt.unique) {
    memcpy(r + off, prefix, (size_t)plen);
    off += (size_t)plen;
  }
  memcpy(r + off, body, body_len);
  off += body_len;
  if (opt.unique) r[off++] = '}';
  *len = off;
  return r;
}

static void conn_open(Conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket() failed");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
  if (r != 0 && errno != EINPROGRESS) {
    err_connect++;
    close(c->fd);
    c->fd = -1;
    c->state = kClosed;
    return;
  }
  c->state = kConnecting;
  c->in_len = 0;
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl failed");
}

static void conn_close(Conn *c) {
  if (c->fd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->state = kClosed;
  free(c->out);
  c->out = NULL;
}

static void want(Conn *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The request on `c` failed (the server closed or an I/O error): counted,
 * and the connection is reopened. */
static void conn_fail(Conn *c, long *counter) {
  if (c->state == kWriting || c->state == kReading) (*counter)++;
  conn_close(c);
  conn_open(c);
}

static void record_latency(int64_t sched_ns, int64_t sent_ns, int64_t end_ns) {
  if ((size_t)completed >= lat_cap) {
    lat_cap = lat_cap ? lat_cap * 2 : 65536;
    lat_sched = realloc(lat_sched, lat_cap * sizeof *lat_sched);
    lat_service = realloc(lat_service, lat_cap * sizeof *lat_service);
    if (!lat_sched || !lat_service) die("out of memory");
  }
  int64_t a = (end_ns - sched_ns) / 1000, b = (end_ns - sent_ns) / 1000;
  lat_sched[completed] = (uint32_t)(a < 0 ? 0 : a > UINT32_MAX ? UINT32_MAX : a);
  lat_service[completed] = (uint32_t)(b < 0 ? 0 : b > UINT32_MAX ? UINT32_MAX : b);
}

static int64_t t0;
static int64_t sched_of(long index) { return t0 + (int64_t)((double)index * 1e9 / opt.rate); }

static void conn_write(Conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      want(c, EPOLLIN | EPOLLOUT);
      return;
    }
    if (n <= 0) {
      conn_fail(c, &err_io);
      return;
    }
    c->out_off += (size_t)n;
  }
  free(c->out);
  c->out = NULL;
  c->state = kReading;
  c->have_head = 0;
  want(c, EPOLLIN);
}

static void conn_send(Conn *c, long index) {
  c->out = build_request(index, &c->out_len);
  c->out_off = 0;
  c->index = index;
  c->sent_ns = now_ns();
  c->state = kWriting;
  c->in_len = 0;
  sent++;
  if (c->sent_ns - sched_of(index) > 1000000) late_1ms++;
  conn_write(c);
}

static int header_is(const char *line, size_t len, const char *name) {
  size_t n = strlen(name);
  return len > n && !strncasecmp(line, name, n) && line[n] == ':';
}

/* Parses the status line and headers in c->in; returns 1 when they are
 * complete, 0 when more is needed, -1 when they are malformed. */
static int parse_head(Conn *c) {
  char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
  if (!end) return c->in_len >= sizeof c->in ? -1 : 0;
  if (c->in_len < 12 || strncmp(c->in, "HTTP/1.", 7)) return -1;
  c->status = atoi(c->in + 9);
  c->close_after = c->in[7] == '0';
  c->chunked = 0;
  c->content_length = -1;
  char *p = memchr(c->in, '\n', (size_t)(end - c->in)) + 1;
  while (p < end + 2) {
    char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
    if (!eol) break;
    size_t len = (size_t)(eol - p);
    if (header_is(p, len, "content-length")) c->content_length = atol(p + 15);
    else if (header_is(p, len, "transfer-encoding") && memmem(p, len, "chunked", 7)) c->chunked = 1;
    else if (header_is(p, len, "connection") && memmem(p, len, "close", 5)) c->close_after = 1;
    p = eol + 2;
  }
  c->body_start = (size_t)(end + 4 - c->in);
  c->have_head = 1;
  return 1;
}

/* 1 when the body after the head is complete, 0 when more is needed, -1
 * when it is malformed. Bodies are only skipped, never kept. */
static int body_done(Conn *c) {
  if (c->status == 204 || c->status == 304 || (c->status >= 100 && c->status < 200)) return 1;
  size_t have = c->in_len - c->body_start;
  if (c->chunked) {
    size_t off = c->body_start;
    for (;;) {
      char *eol = memmem(c->in + off, c->in_len - off, "\r\n", 2);
      if (!eol) return 0;
      long size = strtol(c->in + off, NULL, 16);
      if (size < 0) return -1;
      size_t next = (size_t)(eol - c->in) + 2 + (size_t)size + 2;
      if (size == 0) return c->in_len >= (size_t)(eol - c->in) + 4 ? 1 : 0;
      if (next > sizeof c->in) return -1;
      if (next > c->in_len) return 0;
      off = next;
    }
  }
  if (c->content_length >= 0) {
    if ((size_t)c->content_length + c->body_start > sizeof c->in) return -1;
    return have >= (size_t)c->content_length;
  }
  return -1; /* neither: this server always sends one of the two */
}

static void conn_read(Conn *c) {
  for (;;) {
    if (c->in_len >= sizeof c->in) {
      conn_fail(c, &err_parse);
      return;
    }
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      conn_fail(c, &err_io);
      return;
    }
    if (c->state != kReading) { /* bytes while idle: unexpected */
      conn_fail(c, &err_parse);
      return;
    }
    c->in_len += (size_t)n;
    if (!c->have_head) {
      int h = parse_head(c);
      if (h < 0) {
        conn_fail(c, &err_parse);
        return;
      }
      if (h == 0) continue;
    }
    int b = body_done(c);
    if (b < 0) {
      conn_fail(c, &err_parse);
      return;
    }
    if (b == 0) continue;
    int64_t end = now_ns();
    record_latency(sched_of(c->index), c->sent_ns, end);
    completed++;
    int cls = c->status / 100;
    status_class[cls >= 1 && cls <= 5 ? cls : 0]++;
    c->state = kIdle;
    c->in_len = 0;
    if (c->close_after) {
      conn_close(c);
      conn_open(c);
    }
    return;
  }
}

static void on_event(Conn *c, uint32_t events) {
  if (c->state == kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      err_connect++;
      conn_close(c);
      return; /* not reopened at once: the server refuses */
    }
    c->state = kIdle;
    want(c, EPOLLIN);
    return;
  }
  if (events & EPOLLOUT && c->state == kWriting) conn_write(c);
  if (c->fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) conn_read(c);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static uint32_t pct(const uint32_t *v, size_t n, double p) {
  if (n == 0) return 0;
  size_t i = (size_t)(p / 100.0 * (double)n);
  if (i >= n) i = n - 1;
  return v[i];
}

static void print_latency(const char *name, uint32_t *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_u32);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += v[i];
  printf("\"%s\":{\"mean\":%.1f,\"p50\":%u,\"p90\":%u,\"p99\":%u,\"p999\":%u,\"max\":%u}", name,
         n ? sum / (double)n : 0.0, pct(v, n, 50), pct(v, n, 90), pct(v, n, 99), pct(v, n, 99.9),
         n ? v[n - 1] : 0);
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  read_body();
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)opt.port);
  if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) die("--host must be an IPv4 address");
  epfd = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epfd < 0 || tfd < 0) die("epoll/timerfd failed");
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);

  /* Open every connection before the clock starts. */
  for (int i = 0; i < opt.connections; i++) {
    conns[i].fd = -1;
    conn_open(&conns[i]);
  }
  struct epoll_event evs[256];
  int64_t open_deadline = now_ns() + 5000000000LL;
  for (;;) {
    int ready = 0, pending = 0;
    for (int i = 0; i < opt.connections; i++) {
      ready += conns[i].state == kIdle;
      pending += conns[i].state == kConnecting;
    }
    if (!pending || now_ns() > open_deadline) {
      if (!ready) die("no connection could be opened");
      break;
    }
    int n = epoll_wait(epfd, evs, 256, 100);
    for (int i = 0; i < n; i++)
      if (evs[i].data.ptr) on_event(evs[i].data.ptr, evs[i].events);
  }

  struct rusage ru0;
  getrusage(RUSAGE_SELF, &ru0);
  t0 = now_ns() + 1000000; /* the first request 1 ms from now */
  const int64_t sched_end = sched_of(opt.count);
  const int64_t drain_end = sched_end + (int64_t)(opt.drain_seconds * 1e9);
  long next = 0; /* the next request not sent yet */
  int rr = 0;    /* round-robin start for picking an idle connection */
  for (;;) {
    int64_t now = now_ns();
    /* Send every request that is due, while a connection is idle. */
    while (next < opt.count && sched_of(next) <= now) {
      Conn *idle = NULL;
      for (int k = 0; k < opt.connections && !idle; k++) {
        Conn *c = &conns[(rr + k) % opt.connections];
        if (c->state == kIdle) idle = c;
        else if (c->state == kClosed) conn_open(c);
      }
      if (!idle) break;
      rr = (int)(idle - conns + 1) % opt.connections;
      conn_send(idle, next++);
    }
    /* Requests due but not sent (every connection busy): the backlog. */
    long last_due = now < t0 ? -1 : (long)((double)(now - t0) * opt.rate / 1e9);
    if (last_due >= opt.count) last_due = opt.count - 1;
    long due = last_due >= next ? last_due - next + 1 : 0;
    if (due > max_backlog) max_backlog = due;
    int busy = 0;
    for (int i = 0; i < opt.connections; i++)
      busy += conns[i].state == kWriting || conns[i].state == kReading;
    if (next >= opt.count && busy == 0) break;
    if (now > drain_end) break;
    /* Wake at the next scheduled time (or for I/O). */
    if (next < opt.count && due == 0) {
      int64_t at = sched_of(next);
      struct itimerspec its = {.it_value = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000}};
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(epfd, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr) {
        on_event(evs[i].data.ptr, evs[i].events);
      } else {
        uint64_t x;
        (void)!read(tfd, &x, sizeof x);
      }
    }
  }
  int64_t end = now_ns();
  struct rusage ru1;
  getrusage(RUSAGE_SELF, &ru1);
  long in_flight = 0;
  for (int i = 0; i < opt.connections; i++)
    in_flight += conns[i].state == kWriting || conns[i].state == kReading;
  double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                        ru0.ru_stime.tv_sec) +
               (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                        ru0.ru_stime.tv_usec) /
                   1e6;
  double sched_s = (double)(sched_end - t0) / 1e9;
  double elapsed_s = (double)(end - t0) / 1e9;
  printf("LOADGEN_RESULT {\"rate\":%.3f,\"scheduled\":%ld,\"schedule_s\":%.3f,\"elapsed_s\":%.3f,"
         "\"connections\":%d,\"sent\":%ld,\"completed\":%ld,"
         "\"status\":{\"1xx\":%ld,\"2xx\":%ld,\"3xx\":%ld,\"4xx\":%ld,\"5xx\":%ld,\"other\":%ld},"
         "\"errors\":{\"connect\":%ld,\"io\":%ld,\"parse\":%ld},\"unsent\":%ld,\"unfinished\":%ld,"
         "\"late_1ms\":%ld,\"max_backlog\":%ld,\"cpu_s\":%.3f,",
         opt.rate, opt.count, sched_s, elapsed_s, opt.connections, sent, completed, status_class[1],
         status_class[2], status_class[3], status_class[4], status_class[5], status_class[0],
         err_connect, err_io, err_parse, opt.count - next, in_flight, late_1ms, max_backlog, cpu);
  print_latency("latency_us", lat_sched, (size_t)completed);
  printf(",");
  print_latency("service_us", lat_service, (size_t)completed);
  printf("}\n");
  return 0;
}
