/* SPDX-License-Identifier: MIT */
/*
 * mpi_check: an MPI program whose every result is checked, for runs over the
 * vefa provider.  Point-to-point at each of vefa's protocol sizes (eager,
 * medium, long) with every byte checked; a burst of nonblocking mixed-size
 * sends that must match in order (MPI's non-overtaking rule over an
 * unordered device); probe/mprobe of unexpected messages; collectives
 * (barrier, allreduce, allgather, alltoall); and, with "--rma", one-sided
 * put/get/accumulate through an MPI window.
 *
 * Prints "mpi_check: PASS (N ranks)" on rank 0 and exits 0, or names the
 * first thing that went wrong and exits 1.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, nranks, errors;

#define EXPECT(cond, ...)                     \
  do {                                        \
    if (!(cond)) {                            \
      if (errors++ < 5) {                     \
        printf("mpi_check: rank %d: ", rank); \
        printf(__VA_ARGS__);                  \
        printf("\n");                         \
      }                                       \
    }                                         \
  } while (0)

static void fill(unsigned char *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(seed * 31 + i * 7);
}

static size_t first_bad(const unsigned char *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != (unsigned char)(seed * 31 + i * 7)) return i;
  return n;
}

/* Rank 0 and rank 1 exchange each size a few times. */
static void pingpong(unsigned char *buf) {
  /* Around vefa's eager (8136 B) and medium (64 KiB) limits, and long. */
  const size_t sizes[] = {0, 1, 100, 4096, 8136, 8137, 20000, 65536, 65537, 300000, 4u << 20};
  for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    const size_t n = sizes[k];
    for (unsigned it = 0; it < 3; it++) {
      const unsigned seed = k * 10 + it;
      if (rank == 0) {
        fill(buf, n, seed);
        MPI_Send(buf, (int)n, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
        memset(buf, 0, n);
        MPI_Recv(buf, (int)n, MPI_BYTE, 1, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        size_t bad = first_bad(buf, n, seed + 1);
        EXPECT(bad == n, "pingpong reply of %zu bytes wrong at byte %zu", n, bad);
      } else if (rank == 1) {
        MPI_Status st;
        int count = -1;
        MPI_Recv(buf, (int)n, MPI_BYTE, MPI_ANY_SOURCE, 7, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_BYTE, &count);
        size_t bad = first_bad(buf, n, seed);
        EXPECT(bad == n && (size_t)count == n && st.MPI_SOURCE == 0,
               "pingpong of %zu bytes: count %d, source %d, first bad byte %zu", n, count, st.MPI_SOURCE, bad);
        fill(buf, n, seed + 1);
        MPI_Send(buf, (int)n, MPI_BYTE, 0, 8, MPI_COMM_WORLD);
      }
    }
  }
}

/* 200 nonblocking sends of mixed sizes on one tag match the receives in
 * posting order, whatever order the device delivers their packets in. */
static void ordering(void) {
  enum { N = 200 };
  size_t lens[N];
  unsigned char *bufs[N];
  MPI_Request req[N];
  for (int i = 0; i < N; i++) {
    lens[i] = (i % 7 == 0) ? 100000 : (i % 3 == 0) ? 30000 : (size_t)(i * 13);
    bufs[i] = malloc(lens[i] + 1);
  }
  if (rank == 0) {
    for (int i = 0; i < N; i++) {
      fill(bufs[i], lens[i], 1000 + i);
      MPI_Isend(bufs[i], (int)lens[i], MPI_BYTE, 1, 3, MPI_COMM_WORLD, &req[i]);
    }
    MPI_Waitall(N, req, MPI_STATUSES_IGNORE);
  } else if (rank == 1) {
    for (int i = 0; i < N; i++) MPI_Irecv(bufs[i], (int)lens[i], MPI_BYTE, 0, 3, MPI_COMM_WORLD, &req[i]);
    MPI_Waitall(N, req, MPI_STATUSES_IGNORE);
    for (int i = 0; i < N; i++)
      EXPECT(first_bad(bufs[i], lens[i], 1000 + i) == lens[i], "message %d of the burst is wrong", i);
  }
  for (int i = 0; i < N; i++) free(bufs[i]);
}

/* Messages that arrive before their receive, found by probe and mprobe.
 * The sends are nonblocking: the receiver probes them in reverse order, and
 * a blocking MPI_Send of 5000 bytes may wait for its receive (ob1 sends
 * that much by rendezvous over btl ofi and over vader alike): with
 * MPI_Send this was a deadlock of the program, not of the transport. */
static void unexpected(unsigned char *buf) {
  if (rank == 0) {
    static unsigned char bufs[10][5000];
    MPI_Request req[10];
    for (int i = 0; i < 10; i++) {
      fill(bufs[i], 5000, 77 + i);
      MPI_Isend(bufs[i], 5000, MPI_BYTE, 1, 100 + i, MPI_COMM_WORLD, &req[i]);
    }
    MPI_Waitall(10, req, MPI_STATUSES_IGNORE);
  } else if (rank == 1) {
    for (int i = 9; i >= 0; i--) {
      MPI_Status st;
      int count = -1;
      MPI_Probe(0, 100 + i, MPI_COMM_WORLD, &st);
      MPI_Get_count(&st, MPI_BYTE, &count);
      MPI_Message m;
      MPI_Mprobe(0, 100 + i, MPI_COMM_WORLD, &m, &st);
      MPI_Mrecv(buf, 5000, MPI_BYTE, &m, &st);
      EXPECT(count == 5000 && first_bad(buf, 5000, 77 + i) == 5000, "probed message %d is wrong", i);
    }
  }
}

static void collectives(void) {
  MPI_Barrier(MPI_COMM_WORLD);
  long v = rank + 1, sum = 0;
  MPI_Allreduce(&v, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  EXPECT(sum == (long)nranks * (nranks + 1) / 2, "allreduce gave %ld", sum);

  enum { K = 1000 };
  int *mine = malloc(sizeof(int) * K), *all = malloc(sizeof(int) * K * nranks);
  for (int i = 0; i < K; i++) mine[i] = rank * K + i;
  MPI_Allgather(mine, K, MPI_INT, all, K, MPI_INT, MPI_COMM_WORLD);
  for (int i = 0; i < K * nranks; i++)
    if (all[i] != i) {
      EXPECT(0, "allgather wrong at %d", i);
      break;
    }

  /* alltoall: block j of rank r's send buffer goes to rank j. */
  int *out = malloc(sizeof(int) * K * nranks), *in = malloc(sizeof(int) * K * nranks);
  for (int j = 0; j < nranks; j++)
    for (int i = 0; i < K; i++) out[j * K + i] = rank * 1000000 + j * K + i;
  MPI_Alltoall(out, K, MPI_INT, in, K, MPI_INT, MPI_COMM_WORLD);
  for (int j = 0; j < nranks; j++)
    for (int i = 0; i < K; i++)
      if (in[j * K + i] != j * 1000000 + rank * K + i) {
        EXPECT(0, "alltoall block from rank %d wrong at %d", j, i);
        j = nranks;
        break;
      }
  free(mine), free(all), free(out), free(in);
  MPI_Barrier(MPI_COMM_WORLD);
}

/* One-sided: every rank puts into its right neighbour's window, gets from
 * its left, and all accumulate into rank 0's counter. */
static void one_sided(void) {
  enum { W = 4096 };
  long *win_mem = calloc(W + 1, sizeof(long));
  MPI_Win win;
  MPI_Win_create(win_mem, (W + 1) * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &win);
  long *src = malloc(sizeof(long) * W), *got = malloc(sizeof(long) * W);
  for (int i = 0; i < W; i++) src[i] = rank * 100000L + i;
  const int right = (rank + 1) % nranks, left = (rank + nranks - 1) % nranks;
  MPI_Win_fence(0, win);
  MPI_Put(src, W, MPI_LONG, right, 0, W, MPI_LONG, win);
  long one = 1;
  MPI_Accumulate(&one, 1, MPI_LONG, 0, W, 1, MPI_LONG, MPI_SUM, win);
  MPI_Win_fence(0, win);
  for (int i = 0; i < W; i++)
    if (win_mem[i] != left * 100000L + i) {
      EXPECT(0, "MPI_Put from rank %d landed wrong at %d", left, i);
      break;
    }
  if (rank == 0) EXPECT(win_mem[W] == nranks, "MPI_Accumulate counted %ld, not %d", win_mem[W], nranks);
  MPI_Win_fence(0, win);
  MPI_Get(got, W, MPI_LONG, left, 0, W, MPI_LONG, win);
  MPI_Win_fence(0, win);
  /* left's window holds what its own left put there. */
  const int left2 = (left + nranks - 1) % nranks;
  for (int i = 0; i < W; i++)
    if (got[i] != left2 * 100000L + i) {
      EXPECT(0, "MPI_Get from rank %d read wrong at %d", left, i);
      break;
    }
  MPI_Win_free(&win);
  free(win_mem), free(src), free(got);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  int rma = argc > 1 && !strcmp(argv[1], "--rma");
  if (nranks < 2) {
    if (rank == 0) printf("mpi_check: needs at least 2 ranks\n");
    MPI_Finalize();
    return 1;
  }
  unsigned char *buf = malloc(4u << 20);
  pingpong(buf);
  ordering();
  unexpected(buf);
  collectives();
  if (rma) one_sided();
  free(buf);
  int total = 0;
  MPI_Reduce(&errors, &total, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    if (total)
      printf("mpi_check: FAIL (%d errors, %d ranks)\n", total, nranks);
    else
      printf("mpi_check: PASS (%d ranks%s)\n", nranks, rma ? ", one-sided too" : "");
  }
  MPI_Finalize();
  return total != 0;
}
