// Linked into every program of the ThreadSanitizer build (TECHTRADE_SANITIZE=thread), nowhere else.
//
// librdkafka starts its threads and takes its locks with the C11 <threads.h> functions. glibc
// implements those by calling its pthread internals directly, not through the pthread_* symbols
// that ThreadSanitizer intercepts, and GCC 12's ThreadSanitizer has no interceptors of its own for
// them. Its runtime then never hears of librdkafka's threads: the first malloc such a thread makes
// crashes the process inside the runtime (a thread without ThreadSanitizer state), and none of
// librdkafka's locking would be seen either. These definitions, found before glibc's when
// librdkafka's references are bound, do what glibc's do (same types: glibc casts mtx_t, cnd_t and
// once_flag to the pthread ones, and maps errors the same way) through the intercepted pthread_*
// functions, so that ThreadSanitizer sees every thread and every lock. Only the functions
// librdkafka 2.0 imports are here (`nm -D librdkafka.so.1 | grep -E ' U (thrd|mtx|cnd|call_once)'`).
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

static int ErrorCode(int err) {
  switch (err) {
    case 0:
      return thrd_success;
    case ENOMEM:
      return thrd_nomem;
    case ETIMEDOUT:
      return thrd_timedout;
    case EBUSY:
      return thrd_busy;
    default:
      return thrd_error;
  }
}

struct Start {
  thrd_start_t func;
  void* arg;
};

static void* Run(void* p) {
  struct Start start = *(struct Start*)p;
  free(p);
  return (void*)(intptr_t)start.func(start.arg);
}

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  struct Start* start = malloc(sizeof *start);
  if (start == NULL) return thrd_nomem;
  start->func = func;
  start->arg = arg;
  int err = pthread_create(thr, NULL, Run, start);
  if (err != 0) free(start);
  return ErrorCode(err);
}

int thrd_join(thrd_t thr, int* res) {
  void* result = NULL;
  int err = pthread_join(thr, &result);
  if (err == 0 && res != NULL) *res = (int)(intptr_t)result;
  return ErrorCode(err);
}

int mtx_init(mtx_t* mutex, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, (type & mtx_recursive) ? PTHREAD_MUTEX_RECURSIVE
                                                          : PTHREAD_MUTEX_NORMAL);
  int err = pthread_mutex_init((pthread_mutex_t*)mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  return ErrorCode(err);
}

int mtx_lock(mtx_t* mutex) { return ErrorCode(pthread_mutex_lock((pthread_mutex_t*)mutex)); }

int mtx_unlock(mtx_t* mutex) { return ErrorCode(pthread_mutex_unlock((pthread_mutex_t*)mutex)); }

void mtx_destroy(mtx_t* mutex) { pthread_mutex_destroy((pthread_mutex_t*)mutex); }

int cnd_init(cnd_t* cond) { return ErrorCode(pthread_cond_init((pthread_cond_t*)cond, NULL)); }

int cnd_signal(cnd_t* cond) { return ErrorCode(pthread_cond_signal((pthread_cond_t*)cond)); }

int cnd_broadcast(cnd_t* cond) { return ErrorCode(pthread_cond_broadcast((pthread_cond_t*)cond)); }

int cnd_wait(cnd_t* cond, mtx_t* mutex) {
  return ErrorCode(pthread_cond_wait((pthread_cond_t*)cond, (pthread_mutex_t*)mutex));
}

int cnd_timedwait(cnd_t* restrict cond, mtx_t* restrict mutex,
                  const struct timespec* restrict time_point) {
  return ErrorCode(
      pthread_cond_timedwait((pthread_cond_t*)cond, (pthread_mutex_t*)mutex, time_point));
}

void cnd_destroy(cnd_t* cond) { pthread_cond_destroy((pthread_cond_t*)cond); }

void call_once(once_flag* flag, void (*func)(void)) { pthread_once((pthread_once_t*)flag, func); }
