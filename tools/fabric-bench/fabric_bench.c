/* SPDX-License-Identifier: MIT */
/*
 * venic-fabric-bench: one process, one thread, two RDM endpoints of any
 * libfabric provider, driven in turn.  With nothing else in the loop (no
 * second process, no scheduler hand-off) it isolates the provider's and the
 * device's own path, which is what a 2-core machine can measure fairly.
 *
 *   venic-fabric-bench -p vefa -s 8 -n 20000           latency (half round trip)
 *   venic-fabric-bench -p shm -s 65536 -n 2000 --bw    streaming bandwidth
 *
 * Output: one line "provider size iters latency_us MBps", or JSON with --json.
 * Every received message is checked byte for byte.
 */
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW 64

struct side {
  struct fid_ep *ep;
  struct fid_cq *cq;
  fi_addr_t peer;
  uint8_t *tx, *rx; /* rx: WINDOW buffers */
  struct fid_mr *tx_mr, *rx_mr;
  void *tx_desc, *rx_desc;
  struct fi_context tx_ctx[WINDOW], rx_ctx[WINDOW];
};

static struct fi_info *info;
static struct fid_fabric *fabric;
static struct fid_domain *domain;
static struct fid_av *av;
static size_t size = 8;
static long iters = 10000;

static void die(const char *what, int rc) {
  fprintf(stderr, "venic-fabric-bench: %s: %s\n", what, fi_strerror(rc < 0 ? -rc : rc));
  exit(1);
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void reg(struct side *s, void *buf, size_t len, struct fid_mr **mr, void **desc, uint64_t key) {
  *mr = NULL;
  *desc = NULL;
  if (!(info->domain_attr->mr_mode & FI_MR_LOCAL)) return;
  int rc = fi_mr_reg(domain, buf, len, FI_SEND | FI_RECV, 0, key, 0, mr, NULL);
  if (rc) die("fi_mr_reg", rc);
  *desc = fi_mr_desc(*mr);
  (void)s;
}

static void open_side(struct side *s, uint64_t key) {
  struct fi_cq_attr cq_attr = {.format = FI_CQ_FORMAT_CONTEXT, .size = 4 * WINDOW};
  int rc = fi_cq_open(domain, &cq_attr, &s->cq, NULL);
  if (rc) die("fi_cq_open", rc);
  if ((rc = fi_endpoint(domain, info, &s->ep, NULL))) die("fi_endpoint", rc);
  if ((rc = fi_ep_bind(s->ep, &av->fid, 0))) die("fi_ep_bind av", rc);
  if ((rc = fi_ep_bind(s->ep, &s->cq->fid, FI_TRANSMIT | FI_RECV))) die("fi_ep_bind cq", rc);
  if ((rc = fi_enable(s->ep))) die("fi_enable", rc);
  s->tx = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
  s->rx = aligned_alloc(4096, ((size + 4095) & ~(size_t)4095) * WINDOW);
  if (!s->tx || !s->rx) die("allocating buffers", FI_ENOMEM);
  reg(s, s->tx, size, &s->tx_mr, &s->tx_desc, key);
  reg(s, s->rx, ((size + 4095) & ~(size_t)4095) * WINDOW, &s->rx_mr, &s->rx_desc, key + 1);
}

static uint8_t *rx_buf(struct side *s, int i) {
  return s->rx + ((size + 4095) & ~(size_t)4095) * (size_t)i;
}

/* Both sides' CQs: a provider may need the peer's progress before it takes
 * a send (shm's first send waits for the peer to map it). */
static struct fid_cq *all_cqs[2];
static void progress(void) {
  for (int k = 0; k < 2; k++)
    if (all_cqs[k]) fi_cq_read(all_cqs[k], NULL, 0);
}

static void post_recv(struct side *s, int i) {
  int rc;
  while ((rc = (int)fi_recv(s->ep, rx_buf(s, i), size, s->rx_desc, FI_ADDR_UNSPEC, &s->rx_ctx[i])) == -FI_EAGAIN)
    progress();
  if (rc) die("fi_recv", rc);
}

static void send_one(struct side *s, int i) {
  int rc;
  while ((rc = (int)fi_send(s->ep, s->tx, size, s->tx_desc, s->peer, &s->tx_ctx[i])) == -FI_EAGAIN) progress();
  if (rc) die("fi_send", rc);
}

/* Polls both sides once each (one thread drives both); returns the receives
 * on `want`'s CQ, their buffer indices in which[] (room for 32). */
static int poll_pair(struct side *a, struct side *b, struct side *want, int *which) {
  struct fi_cq_entry e[16];
  int got = 0;
  struct side *sides[2] = {a, b};
  for (int k = 0; k < 2; k++) {
    ssize_t n = fi_cq_read(sides[k]->cq, e, 16);
    if (n == -FI_EAVAIL) {
      struct fi_cq_err_entry err = {0};
      fi_cq_readerr(sides[k]->cq, &err, 0);
      die("completion error", err.err);
    }
    for (ssize_t j = 0; j < n; j++) {
      struct fi_context *c = e[j].op_context;
      if (sides[k] == want && c >= want->rx_ctx && c < want->rx_ctx + WINDOW) {
        which[got++] = (int)(c - want->rx_ctx);
      }
    }
  }
  return got;
}

static void check(const uint8_t *buf, uint8_t seed) {
  for (size_t i = 0; i < size; i++)
    if (buf[i] != (uint8_t)(seed + i)) {
      fprintf(stderr, "venic-fabric-bench: byte %zu of a %zu-byte message is wrong\n", i, size);
      exit(1);
    }
}

int main(int argc, char **argv) {
  const char *prov = NULL;
  int bw = 0, json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-p") && i + 1 < argc)
      prov = argv[++i];
    else if (!strcmp(argv[i], "-s") && i + 1 < argc)
      size = strtoul(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "-n") && i + 1 < argc)
      iters = strtol(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--bw"))
      bw = 1;
    else if (!strcmp(argv[i], "--json"))
      json = 1;
    else {
      fprintf(stderr,
              "usage: venic-fabric-bench -p PROVIDER [-s SIZE] [-n ITERS] [--bw] [--json]\n"
              "  one process, two RDM endpoints driven by one thread; -s bytes per message (8),\n"
              "  -n round trips or messages (10000), --bw streams %d at a time instead of ping-pong\n",
              WINDOW);
      return 2;
    }
  }
  if (!prov || size == 0 || iters <= 0) {
    fprintf(stderr, "venic-fabric-bench: -p PROVIDER is required, -s and -n must be positive\n");
    return 2;
  }
  struct fi_info *hints = fi_allocinfo();
  hints->ep_attr->type = FI_EP_RDM;
  hints->caps = FI_MSG;
  hints->mode = FI_CONTEXT;
  hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
  hints->fabric_attr->prov_name = strdup(prov);
  int rc = fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, hints, &info);
  if (rc) die("fi_getinfo", rc);
  if ((rc = fi_fabric(info->fabric_attr, &fabric, NULL))) die("fi_fabric", rc);
  if ((rc = fi_domain(fabric, info, &domain, NULL))) die("fi_domain", rc);
  struct fi_av_attr av_attr = {.type = FI_AV_TABLE};
  if ((rc = fi_av_open(domain, &av_attr, &av, NULL))) die("fi_av_open", rc);
  struct side a = {0}, b = {0};
  open_side(&a, 1);
  open_side(&b, 3);
  all_cqs[0] = a.cq;
  all_cqs[1] = b.cq;
  char name_a[256], name_b[256];
  size_t la = sizeof(name_a), lb = sizeof(name_b);
  if ((rc = fi_getname(&a.ep->fid, name_a, &la)) || (rc = fi_getname(&b.ep->fid, name_b, &lb))) die("fi_getname", rc);
  if (fi_av_insert(av, name_b, 1, &a.peer, 0, NULL) != 1 || fi_av_insert(av, name_a, 1, &b.peer, 0, NULL) != 1)
    die("fi_av_insert", FI_EINVAL);
  for (size_t i = 0; i < size; i++) a.tx[i] = (uint8_t)(0x5a + i), b.tx[i] = (uint8_t)(0xa5 + i);
  for (int i = 0; i < WINDOW; i++) post_recv(&a, i), post_recv(&b, i);

  double t0 = now_us();
  int which[32];
  if (!bw) {
    for (long it = 0; it < iters; it++) {
      send_one(&a, 0);
      while (!poll_pair(&a, &b, &b, which))
        ;
      check(rx_buf(&b, which[0]), 0x5a);
      post_recv(&b, which[0]);
      send_one(&b, 0);
      while (!poll_pair(&a, &b, &a, which))
        ;
      check(rx_buf(&a, which[0]), 0xa5);
      post_recv(&a, which[0]);
    }
  } else {
    long sent = 0, received = 0;
    while (received < iters) {
      /* Keep up to WINDOW in flight (the receiver reposts as it goes). */
      while (sent < iters && sent - received < WINDOW) send_one(&a, (int)(sent++ % WINDOW));
      int n = poll_pair(&a, &b, &b, which);
      for (int k = 0; k < n; k++) {
        check(rx_buf(&b, which[k]), 0x5a);
        post_recv(&b, which[k]);
      }
      received += n;
    }
    /* Drain a's send completions. */
    for (int k = 0; k < 1000; k++) poll_pair(&a, &b, &a, which);
  }
  double us = now_us() - t0;
  double lat = bw ? 0 : us / (double)iters / 2;
  double mbps = bw ? (double)size * (double)iters / us : (double)size / lat;
  if (json)
    printf(
        "{\"provider\":\"%s\",\"size\":%zu,\"iters\":%ld,\"mode\":\"%s\",\"latency_us\":%.3f,"
        "\"MBps\":%.1f}\n",
        prov, size, iters, bw ? "bw" : "pingpong", lat, mbps);
  else
    printf("%s %zu %ld %.3f %.1f\n", prov, size, iters, lat, mbps);
  fi_close(&a.ep->fid);
  fi_close(&b.ep->fid);
  if (a.tx_mr) fi_close(&a.tx_mr->fid), fi_close(&a.rx_mr->fid), fi_close(&b.tx_mr->fid), fi_close(&b.rx_mr->fid);
  fi_close(&a.cq->fid);
  fi_close(&b.cq->fid);
  fi_close(&av->fid);
  fi_close(&domain->fid);
  fi_close(&fabric->fid);
  fi_freeinfo(info);
  fi_freeinfo(hints);
  free(a.tx), free(a.rx), free(b.tx), free(b.rx);
  return 0;
}
