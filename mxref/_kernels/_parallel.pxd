# How many OpenMP threads a loop should use (shared by the kernels through cimport).
#
# Small loops run on one thread: waking the other threads of the team costs more than the work.
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
    """1 for fewer than 32768 elements of work, else all of OpenMP's threads."""
    if work < 32768:
        return 1
    return mxref_max_threads()
