# How many OpenMP threads a loop should use (shared by the kernels through cimport).
#
# Small loops run on one thread: waking the other threads of the team (asleep once their
# short spin is over, see OMP_WAIT_POLICY in __init__.py) costs tens of microseconds, and on a
# busy machine a parallel region waits for a descheduled thread for a whole time slice.  Below about 2^17
# elements (a few hundred microseconds of work) one thread is faster.
# Built without OpenMP (MXREF_NO_OPENMP=1), every loop is serial and this answers 1.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int mxref_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int mxref_max_threads(void) { return 1; }
    #endif
    """
    int mxref_max_threads() noexcept nogil


cdef inline int threads_for(Py_ssize_t work) noexcept nogil:
    """1 for fewer than 2^17 elements of work, else all of OpenMP's threads."""
    if work < 131072:
        return 1
    return mxref_max_threads()
