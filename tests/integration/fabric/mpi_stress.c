/* SPDX-License-Identifier: MIT */
/*
 * mpi_stress: the MPI matrix a run over vefa must get through without a
 * stall, every byte checked:
 * - ping-pong between ranks 0 and 1 at every power of two from 1 B to 4 MiB;
 * - MPI_Bcast from each size 1 B .. 4 MiB, MPI_Allreduce (sum of doubles
 *   and of ints) and MPI_Alltoall at several sizes;
 * - a stream of small messages (default 100 000, argv[1]) from rank 0 to
 *   rank 1, with a credit every 64 so the receiver is never flooded past
 *   what MPI guarantees, then the same the other way with nonblocking
 *   receives posted ahead.
 * Prints progress lines ("mpi_stress: <phase> ok") so a stall names its
 * phase, and "mpi_stress: PASS (N ranks)" on rank 0.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, nranks, errors;

#define EXPECT(cond, ...)                       \
  do {                                          \
    if (!(cond)) {                              \
      if (errors++ < 5) {                       \
        printf("mpi_stress: rank %d: ", rank);  \
        printf(__VA_ARGS__);                    \
        printf("\n");                           \
        fflush(stdout);                         \
      }                                         \
    }                                           \
  } while (0)

static unsigned char pattern(unsigned seed, size_t i) { return (unsigned char)(seed * 131 + i * 7 + (i >> 11)); }

static void fill(unsigned char *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) b[i] = pattern(seed, i);
}

static size_t first_bad(const unsigned char *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != pattern(seed, i)) return i;
  return n;
}

static void phase(const char *name) {
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    printf("mpi_stress: %s ok\n", name);
    fflush(stdout);
  }
}

#define MAX_SIZE (4u << 20)

static void pingpong(unsigned char *buf) {
  if (rank > 1) return;
  int peer = 1 - rank;
  for (size_t n = 1; n <= MAX_SIZE; n *= 2) {
    for (int it = 0; it < 3; it++) {
      unsigned seed = (unsigned)(n * 3 + it);
      if (rank == 0) {
        fill(buf, n, seed);
        MPI_Send(buf, (int)n, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
        memset(buf, 0, n);
        MPI_Recv(buf, (int)n, MPI_BYTE, peer, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        size_t bad = first_bad(buf, n, seed + 1);
        EXPECT(bad == n, "ping-pong %zu B: byte %zu differs coming back", n, bad);
      } else {
        MPI_Recv(buf, (int)n, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        size_t bad = first_bad(buf, n, seed);
        EXPECT(bad == n, "ping-pong %zu B: byte %zu differs", n, bad);
        fill(buf, n, seed + 1);
        MPI_Send(buf, (int)n, MPI_BYTE, peer, 2, MPI_COMM_WORLD);
      }
    }
  }
}

static void bcast(unsigned char *buf) {
  for (size_t n = 1; n <= MAX_SIZE; n *= 4) {
    for (int root = 0; root < nranks; root++) {
      unsigned seed = (unsigned)(n + root);
      if (rank == root)
        fill(buf, n, seed);
      else
        memset(buf, 0, n);
      MPI_Bcast(buf, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
      size_t bad = first_bad(buf, n, seed);
      EXPECT(bad == n, "bcast %zu B from %d: byte %zu differs", n, root, bad);
    }
  }
}

static void allreduce(void) {
  const int counts[] = {1, 7, 1024, 65536, 1 << 19};
  for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
    int n = counts[c];
    double *in = malloc(sizeof(double) * n), *out = malloc(sizeof(double) * n);
    int *iin = malloc(sizeof(int) * n), *iout = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) {
      in[i] = rank + i * 0.5;
      iin[i] = rank * 1000 + i;
    }
    MPI_Allreduce(in, out, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(iin, iout, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int bad = -1;
    double rsum = nranks * (nranks - 1) / 2.0;
    for (int i = 0; i < n && bad < 0; i++)
      if (out[i] != rsum + nranks * i * 0.5 || iout[i] != (int)(rsum * 1000) + nranks * i) bad = i;
    EXPECT(bad < 0, "allreduce of %d: element %d wrong", n, bad);
    free(in);
    free(out);
    free(iin);
    free(iout);
  }
}

static void alltoall(void) {
  const size_t sizes[] = {1, 100, 8192, 65536, 1 << 20};
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    size_t n = sizes[s];
    unsigned char *in = malloc(n * nranks), *out = malloc(n * nranks);
    for (int d = 0; d < nranks; d++) fill(in + d * n, n, (unsigned)(rank * 16 + d + n));
    memset(out, 0, n * nranks);
    MPI_Alltoall(in, (int)n, MPI_BYTE, out, (int)n, MPI_BYTE, MPI_COMM_WORLD);
    for (int src = 0; src < nranks; src++) {
      size_t bad = first_bad(out + src * n, n, (unsigned)(src * 16 + rank + n));
      EXPECT(bad == n, "alltoall %zu B from %d: byte %zu differs", n, src, bad);
    }
    free(in);
    free(out);
  }
}

static void stream(long count) {
  if (rank > 1) return;
  int peer = 1 - rank;
  /* Blocking sends 0 -> 1 with a credit back every 64. */
  long seen = 0;
  for (long i = 0; i < count; i++) {
    long v = i;
    if (rank == 0) {
      MPI_Send(&v, 1, MPI_LONG, peer, 5, MPI_COMM_WORLD);
      if (i % 64 == 63) MPI_Recv(&v, 1, MPI_LONG, peer, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
      MPI_Recv(&v, 1, MPI_LONG, peer, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (v == i) seen++;
      if (i % 64 == 63) MPI_Send(&v, 1, MPI_LONG, peer, 6, MPI_COMM_WORLD);
    }
  }
  if (rank == 1) EXPECT(seen == count, "stream 0->1: %ld of %ld small messages in order", seen, count);
  /* Nonblocking 1 -> 0, 256 in flight at a time, varying sizes up to 2 KiB. */
  enum { kWin = 256, kMax = 2048 };
  static unsigned char bufs[kWin][kMax];
  MPI_Request reqs[kWin];
  long bad = 0;
  for (long base = 0; base < count; base += kWin) {
    long n = count - base < kWin ? count - base : kWin;
    for (long j = 0; j < n; j++) {
      size_t len = (size_t)((base + j) % kMax) + 1;
      if (rank == 1) {
        fill(bufs[j], len, (unsigned)(base + j));
        MPI_Isend(bufs[j], (int)len, MPI_BYTE, peer, 7, MPI_COMM_WORLD, &reqs[j]);
      } else {
        MPI_Irecv(bufs[j], (int)len, MPI_BYTE, peer, 7, MPI_COMM_WORLD, &reqs[j]);
      }
    }
    MPI_Waitall((int)n, reqs, MPI_STATUSES_IGNORE);
    if (rank == 0)
      for (long j = 0; j < n; j++) {
        size_t len = (size_t)((base + j) % kMax) + 1;
        if (first_bad(bufs[j], len, (unsigned)(base + j)) != len) bad++;
      }
  }
  if (rank == 0) EXPECT(bad == 0, "stream 1->0: %ld of %ld nonblocking messages damaged", bad, count);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  long count = argc > 1 ? atol(argv[1]) : 100000;
  unsigned char *buf = malloc(MAX_SIZE);
  if (nranks < 2) {
    if (rank == 0) printf("mpi_stress: needs 2 ranks or more\n");
    MPI_Finalize();
    return 1;
  }
  stream(count);
  phase("small messages");
  pingpong(buf);
  phase("ping-pong 1 B .. 4 MiB");
  bcast(buf);
  phase("bcast 1 B .. 4 MiB");
  allreduce();
  phase("allreduce");
  alltoall();
  phase("alltoall");
  int total = 0;
  MPI_Allreduce(&errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("mpi_stress: %s (%d ranks)\n", total ? "FAIL" : "PASS", nranks);
  free(buf);
  MPI_Finalize();
  return total ? 1 : 0;
}
