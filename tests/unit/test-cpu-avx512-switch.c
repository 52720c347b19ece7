/*
 * FACEGATE_NO_AVX512 (src/core/cpu.c): set to anything but "0", fg_cpu_avx512() is 0 whatever the
 * CPU; unset, empty or "0", it is what the CPU runs (AVX-512F with AVX2 and FMA). The
 * environment is read at the first call, so each value is tried in a child process of its own;
 * fg_cpu_use_avx512 then turns the kernels back on (where the CPU has them) or off.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cpu.h"
#include "harness.h"

/* fg_cpu_avx512() in a child whose environment has FACEGATE_NO_AVX512 = value (NULL: unset). */
static int in_child(const char *value)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (value)
            setenv("FACEGATE_NO_AVX512", value, 1);
        else
            unsetenv("FACEGATE_NO_AVX512");
        _exit(fg_cpu_avx512() ? 1 : 0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

int main(void)
{
    int has = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    has = __builtin_cpu_supports("avx512f") && fg_cpu_avx2_fma();
#endif
    CHECKF(in_child(NULL) == has, "unset: %d, the CPU: %d", in_child(NULL), has);
    CHECK(in_child("") == has);
    CHECK(in_child("0") == has);
    CHECK(in_child("1") == 0);
    CHECK(in_child("yes") == 0);
    fg_cpu_use_avx512(0);
    CHECK(fg_cpu_avx512() == 0);
    fg_cpu_use_avx512(1);
    CHECK(fg_cpu_avx512() == has);
    return fg_test_done();
}
