/*
 * sendfile(2) for blob downloads: the kernel moves file pages to the socket, no copy through user
 * space. One call of send(outFd, inFd, offset, count) runs on libuv's thread pool (as an fs.read
 * would: a cold page cache must not stall the event loop) and returns how many bytes went out
 * before the socket's buffer filled (the socket is non-blocking: EAGAIN ends the call, it never
 * waits for the client). The JavaScript side waits for the socket to drain and calls again.
 * The socket is used through a duplicate of Node's descriptor (hold/release): if Node closes its
 * own while a call runs on the pool (the client left), the number cannot be reused for another
 * connection under the call, and the connection ends when both are closed.
 * Linux only; without this addon berth copies through user space (src/http/send-blob.ts).
 *
 * Also splice(outFd, inFd, count, outIdleMs, inIdleMs): moves `count` bytes from the socket `inFd` (an object
 * store's answer) to the socket `outFd` through a pipe with splice(2), so they never enter user space.
 * It runs on a thread of its own, not the pool: it waits on the network for as long as the transfer
 * takes, and pool threads are what the filesystem, LevelDB and the access log need meanwhile. Both
 * sockets are non-blocking (libuv made them so); the thread poll()s whichever one it waits for, and
 * fails with ETIMEDOUT when the client takes nothing for outIdleMs, or the store sends nothing for
 * inIdleMs (each side's own idle limit: a stalled store is the store's failure). shutdown(fd) ends a transfer early: the
 * thread's next splice or poll on that socket fails at once.
 *
 * Also trim(): glibc's malloc_trim(0), which gives the free pages inside malloc's arenas back to the
 * system (request bodies arrive in 64 KiB chunks whose frees leave arenas fragmented; glibc returns
 * only the free top of an arena by itself). Without glibc it does nothing and returns false.
 *
 * And unmappedTables(path): LevelDB (in classic-level's addon, at `path`) reads its table files
 * through up to 1000 read-only mmap()s by default; every page of the index that a lookup or a walk
 * touches then counts in berth's resident set (a GC pass over a 300 MiB index showed 370 MiB of it).
 * LevelDB's own knob for that limit, EnvPosixTestHelper::SetReadOnlyMMapLimit (exported by the
 * addon), set to 0 before the first database opens, makes it read tables with pread() into its
 * block cache: the page cache still holds the files, but outside the process.
 */
#define _GNU_SOURCE /* splice(2), pipe2(2), F_SETPIPE_SZ */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int out_fd;
  int in_fd;
  int64_t offset;
  int64_t count;
  int64_t sent;
  int err;
} Job;

static void execute(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  off_t off = (off_t)job->offset;
  int64_t left = job->count;
  while (left > 0) {
    ssize_t n = sendfile(job->out_fd, job->in_fd, &off, (size_t)left);
    if (n > 0) {
      job->sent += n;
      left -= n;
    } else if (n == 0) {
      break; /* end of file: the caller sees a short count */
    } else if (errno == EINTR) {
      continue;
    } else {
      if (errno != EAGAIN && job->sent == 0) job->err = errno;
      break;
    }
  }
}

static void complete(napi_env env, napi_status status, void *data) {
  Job *job = data;
  napi_value result;
  if (status != napi_ok) {
    napi_value msg;
    napi_create_string_utf8(env, "sendfile: the job did not run", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &result);
    napi_reject_deferred(env, job->deferred, result);
  } else if (job->err != 0) {
    napi_value msg, code;
    napi_create_string_utf8(env, strerror(job->err), NAPI_AUTO_LENGTH, &msg);
    napi_create_int32(env, job->err, &code);
    napi_create_error(env, NULL, msg, &result);
    napi_set_named_property(env, result, "errno", code);
    napi_reject_deferred(env, job->deferred, result);
  } else {
    napi_create_int64(env, job->sent, &result);
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

/* send(outFd: number, inFd: number, offset: number, count: number): Promise<number> */
static napi_value send_file(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], promise, name;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) {
    napi_throw_type_error(env, NULL, "send(outFd, inFd, offset, count)");
    return NULL;
  }
  Job *job = calloc(1, sizeof(Job));
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_get_value_int32(env, argv[0], &job->out_fd) != napi_ok || napi_get_value_int32(env, argv[1], &job->in_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &job->offset) != napi_ok || napi_get_value_int64(env, argv[3], &job->count) != napi_ok ||
      job->out_fd < 0 || job->in_fd < 0 || job->offset < 0 || job->count < 0) {
    free(job);
    napi_throw_type_error(env, NULL, "send(outFd, inFd, offset, count): non-negative integers");
    return NULL;
  }
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "berth:sendfile", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value throw_errno(napi_env env, const char *what);

typedef struct {
  napi_threadsafe_function done;
  napi_deferred deferred;
  int out_fd;
  int in_fd;
  int64_t count;
  int64_t moved;
  int out_idle_ms;
  int in_idle_ms;
  int err;
  const char *what;
} Splice;

/* Bytes a pipe may hold: fewer splice calls per byte than the default 64 KiB (the kernel may refuse it). */
#define PIPE_BYTES (1024 * 1024)

/* Moves job->count bytes; every byte that left the input has reached the output when it returns. */
static void splice_all(Splice *job) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    job->err = errno;
    job->what = "pipe";
    return;
  }
  fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
  int64_t read_in = 0, in_pipe = 0;
  while (job->moved < job->count) {
    bool progress = false;
    if (read_in < job->count) {
      /* EAGAIN: the store has sent nothing new, or the pipe is full (then the output below moves) */
      ssize_t n = splice(job->in_fd, NULL, p[1], NULL, (size_t)(job->count - read_in), SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        read_in += n;
        in_pipe += n;
        progress = true;
      } else if (n == 0) {
        job->err = EPIPE;
        job->what = "the object store's answer ended early";
        break;
      } else if (errno != EAGAIN && errno != EINTR) {
        job->err = errno;
        job->what = "splice from the object store";
        break;
      }
    }
    if (in_pipe > 0) {
      ssize_t n = splice(p[0], NULL, job->out_fd, NULL, (size_t)in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        in_pipe -= n;
        job->moved += n;
        progress = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        job->err = errno;
        job->what = "splice to the client";
        break;
      }
    }
    if (progress) continue;
    /* Nothing moved. Bytes in the pipe: the client's socket is full, wait until it takes more.
     * None: wait for the store, and notice the client's socket shut down meanwhile (POLLHUP is
     * reported whatever the events asked). */
    struct pollfd fds[2] = {
      { .fd = job->out_fd, .events = in_pipe > 0 ? POLLOUT : 0 },
      { .fd = job->in_fd, .events = POLLIN },
    };
    int r = poll(fds, in_pipe > 0 ? 1 : 2, in_pipe > 0 ? job->out_idle_ms : job->in_idle_ms);
    if (r == 0) {
      job->err = ETIMEDOUT;
      job->what = in_pipe > 0 ? "the client took nothing" : "the object store sent nothing";
      break;
    }
    if (r < 0 && errno != EINTR) {
      job->err = errno;
      job->what = "poll";
      break;
    }
    if (in_pipe == 0 && (fds[0].revents & (POLLHUP | POLLERR))) {
      job->err = EPIPE;
      job->what = "the client left";
      break;
    }
    /* otherwise the next splice on the ready socket moves bytes or reports its error */
  }
  close(p[0]);
  close(p[1]);
}

static void splice_complete(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  Splice *job = data;
  if (env != NULL) {
    napi_value result;
    if (job->err != 0) {
      char text[200];
      snprintf(text, sizeof text, "%s: %s", job->what, strerror(job->err));
      napi_value msg, code, moved;
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
      napi_create_int32(env, job->err, &code);
      napi_create_int64(env, job->moved, &moved);
      napi_create_error(env, NULL, msg, &result);
      napi_set_named_property(env, result, "errno", code);
      napi_set_named_property(env, result, "moved", moved);
      napi_reject_deferred(env, job->deferred, result);
    } else {
      napi_create_int64(env, job->moved, &result);
      napi_resolve_deferred(env, job->deferred, result);
    }
  }
  free(job);
}

static void *splice_thread(void *data) {
  Splice *job = data;
  splice_all(job);
  napi_threadsafe_function done = job->done;
  if (napi_call_threadsafe_function(done, job, napi_tsfn_blocking) != napi_ok) free(job); /* the environment is gone */
  napi_release_threadsafe_function(done, napi_tsfn_release);
  return NULL;
}

/* splice(outFd: number, inFd: number, count: number, outIdleMs: number, inIdleMs: number): Promise<number> */
static napi_value splice_sockets(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], promise, name;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5) {
    napi_throw_type_error(env, NULL, "splice(outFd, inFd, count, outIdleMs, inIdleMs)");
    return NULL;
  }
  Splice *job = calloc(1, sizeof(Splice));
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_get_value_int32(env, argv[0], &job->out_fd) != napi_ok || napi_get_value_int32(env, argv[1], &job->in_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &job->count) != napi_ok || napi_get_value_int32(env, argv[3], &job->out_idle_ms) != napi_ok ||
      napi_get_value_int32(env, argv[4], &job->in_idle_ms) != napi_ok || job->out_fd < 0 || job->in_fd < 0 || job->count < 0 || job->out_idle_ms <= 0 ||
      job->in_idle_ms <= 0) {
    free(job);
    napi_throw_type_error(env, NULL, "splice(outFd, inFd, count, outIdleMs, inIdleMs): non-negative integers, the idle limits above 0");
    return NULL;
  }
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "berth:splice", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, splice_complete, &job->done) != napi_ok) {
    free(job);
    napi_throw_error(env, NULL, "splice: no thread-safe function");
    return NULL;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024); /* the loop above needs little */
  pthread_t thread;
  int r = pthread_create(&thread, &attr, splice_thread, job);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    napi_release_threadsafe_function(job->done, napi_tsfn_abort);
    free(job);
    errno = r;
    return throw_errno(env, "splice: pthread_create");
  }
  return promise;
}

static int32_t fd_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "a file descriptor");
    return -1;
  }
  return fd;
}

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* hold(fd: number): number -- a duplicate of fd (close-on-exec) */
static napi_value hold(napi_env env, napi_callback_info info) {
  int32_t fd = fd_arg(env, info);
  if (fd < 0) return NULL;
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return throw_errno(env, "dup");
  napi_value result;
  napi_create_int32(env, dup_fd, &result);
  return result;
}

/* release(fd: number): void */
static napi_value release(napi_env env, napi_callback_info info) {
  int32_t fd = fd_arg(env, info);
  if (fd < 0) return NULL;
  if (close(fd) != 0 && errno != EINTR) return throw_errno(env, "close");
  return NULL;
}

/* shutdown(fd: number): void -- ends both directions of a socket; a transfer on it fails at once */
static napi_value shutdown_socket(napi_env env, napi_callback_info info) {
  int32_t fd = fd_arg(env, info);
  if (fd < 0) return NULL;
  if (shutdown(fd, SHUT_RDWR) != 0 && errno != ENOTCONN) return throw_errno(env, "shutdown");
  return NULL;
}

/* trim(): boolean, whether memory went back to the system */
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) == 1, &result);
#else
  napi_get_boolean(env, false, &result);
#endif
  return result;
}

/* unmappedTables(path: string): boolean, whether LevelDB's mmap limit was set to 0 */
static napi_value unmapped_tables(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char path[4096];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "unmappedTables(path of classic-level's addon)");
    return NULL;
  }
  bool done = false;
  /* RTLD_NOLOAD: only an addon Node has already loaded; never load a second copy */
  void *lib = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (lib != NULL) {
    void (*set_limit)(int) = (void (*)(int))dlsym(lib, "_ZN7leveldb18EnvPosixTestHelper20SetReadOnlyMMapLimitEi");
    if (set_limit != NULL) {
      set_limit(0);
      done = true;
    }
    dlclose(lib);
  }
  napi_get_boolean(env, done, &result);
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_file, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  napi_create_function(env, "hold", NAPI_AUTO_LENGTH, hold, NULL, &fn);
  napi_set_named_property(env, exports, "hold", fn);
  napi_create_function(env, "release", NAPI_AUTO_LENGTH, release, NULL, &fn);
  napi_set_named_property(env, exports, "release", fn);
  napi_create_function(env, "splice", NAPI_AUTO_LENGTH, splice_sockets, NULL, &fn);
  napi_set_named_property(env, exports, "splice", fn);
  napi_create_function(env, "shutdown", NAPI_AUTO_LENGTH, shutdown_socket, NULL, &fn);
  napi_set_named_property(env, exports, "shutdown", fn);
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn);
  napi_set_named_property(env, exports, "trim", fn);
  napi_create_function(env, "unmappedTables", NAPI_AUTO_LENGTH, unmapped_tables, NULL, &fn);
  napi_set_named_property(env, exports, "unmappedTables", fn);
  return exports;
}
