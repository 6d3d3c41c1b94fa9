/* MPI check used with the vefa provider (build: mpicc -O1 -o mpi_check mpi_check.c): ping-pong
 * with data checks at every protocol size, 200 nonblocking mixed-size sends that must match in
 * order, probe/mprobe of unexpected messages, allreduce and allgather. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void fill(unsigned char* b, size_t n, unsigned seed) { for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(seed * 31 + i * 7); }
static int check(const unsigned char* b, size_t n, unsigned seed) { for (size_t i = 0; i < n; i++) if (b[i] != (unsigned char)(seed * 31 + i * 7)) return 0; return 1; }
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size, bad = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t sizes[] = {0, 1, 100, 4096, 8136, 8137, 20000, 65536, 65537, 300000, 4 << 20};
  size_t maxn = 4 << 20;
  unsigned char* buf = malloc(maxn);
  /* ping-pong with data checks */
  for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    size_t n = sizes[k];
    for (int it = 0; it < 5; it++) {
      if (rank == 0) {
        fill(buf, n, k + it);
        MPI_Send(buf, (int)n, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
        memset(buf, 0, n);
        MPI_Recv(buf, (int)n, MPI_BYTE, 1, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (!check(buf, n, k + it + 1)) { printf("pingpong data mismatch size %zu\n", n); bad++; }
      } else if (rank == 1) {
        MPI_Status st;
        MPI_Recv(buf, (int)n, MPI_BYTE, MPI_ANY_SOURCE, 7, MPI_COMM_WORLD, &st);
        int cnt; MPI_Get_count(&st, MPI_BYTE, &cnt);
        if (!check(buf, n, k + it) || (size_t)cnt != n || st.MPI_SOURCE != 0) { printf("rank1 mismatch size %zu\n", n); bad++; }
        fill(buf, n, k + it + 1);
        MPI_Send(buf, (int)n, MPI_BYTE, 0, 8, MPI_COMM_WORLD);
      }
    }
  }
  /* ordering: a burst of nonblocking sends of mixed sizes on one tag must match in order */
  enum { N = 200 };
  size_t lens[N]; unsigned char* bufs[N]; MPI_Request req[N];
  for (int i = 0; i < N; i++) { lens[i] = (i % 7 == 0) ? 100000 : (i % 3 == 0) ? 30000 : (size_t)(i * 13); bufs[i] = malloc(lens[i] + 1); }
  if (rank == 0) {
    for (int i = 0; i < N; i++) { fill(bufs[i], lens[i], 1000 + i); MPI_Isend(bufs[i], (int)lens[i], MPI_BYTE, 1, 3, MPI_COMM_WORLD, &req[i]); }
    MPI_Waitall(N, req, MPI_STATUSES_IGNORE);
  } else if (rank == 1) {
    for (int i = 0; i < N; i++) MPI_Irecv(bufs[i], (int)lens[i], MPI_BYTE, 0, 3, MPI_COMM_WORLD, &req[i]);
    MPI_Waitall(N, req, MPI_STATUSES_IGNORE);
    for (int i = 0; i < N; i++) if (!check(bufs[i], lens[i], 1000 + i)) { printf("order/data mismatch msg %d\n", i); bad++; break; }
  }
  /* unexpected messages + probe */
  if (rank == 0) {
    for (int i = 0; i < 10; i++) { fill(buf, 5000, 77 + i); MPI_Send(buf, 5000, MPI_BYTE, 1, 100 + i, MPI_COMM_WORLD); }
  } else if (rank == 1) {
    MPI_Barrier(MPI_COMM_SELF);
    for (int i = 9; i >= 0; i--) {
      MPI_Status st; int cnt;
      MPI_Probe(0, 100 + i, MPI_COMM_WORLD, &st);
      MPI_Get_count(&st, MPI_BYTE, &cnt);
      MPI_Message m; MPI_Mprobe(0, 100 + i, MPI_COMM_WORLD, &m, &st);
      MPI_Mrecv(buf, 5000, MPI_BYTE, &m, &st);
      if (cnt != 5000 || !check(buf, 5000, 77 + i)) { printf("probe mismatch %d\n", i); bad++; }
    }
  }
  /* collectives */
  long v = rank + 1, sum = 0;
  MPI_Allreduce(&v, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  if (sum != (long)size * (size + 1) / 2) { printf("allreduce wrong %ld\n", sum); bad++; }
  int* all = malloc(sizeof(int) * size * 1000);
  int* mine = malloc(sizeof(int) * 1000);
  for (int i = 0; i < 1000; i++) mine[i] = rank * 1000 + i;
  MPI_Allgather(mine, 1000, MPI_INT, all, 1000, MPI_INT, MPI_COMM_WORLD);
  for (int i = 0; i < size * 1000; i++) if (all[i] != i) { printf("allgather wrong at %d\n", i); bad++; break; }
  int tot = 0;
  MPI_Reduce(&bad, &tot, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("mpi_check: %s (%d errors, %d ranks)\n", tot ? "FAIL" : "PASS", tot, size);
  MPI_Finalize();
  return tot != 0;
}
