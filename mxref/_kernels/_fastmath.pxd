# Branch-free float32 math that loops can vectorise (libm's expf is a function call they
# cannot).  cimport it: ``from ._fastmath cimport fast_expf`` (softmax.pyx and
# activation.pyx do).

cdef extern from *:
    """
    #include <string.h>
    /* exp(x) for float32 without a function call.  exp(x) = 2^k * exp(r) with
       k = round(x / ln 2) and |r| <= ln(2)/2; exp(r) by a degree-6 polynomial (Cephes' expf
       coefficients, about 1 ulp), 2^k written into the exponent bits.  x < -87.33 gives 0,
       x > 88.37 saturates at 2.4e38, NaN stays NaN. */
    static inline float mxref_fast_expf(float x) {
        const float big = 88.3762626647949f, small = -87.3365447505531f;
        float xc = x > big ? big : x;
        xc = xc < small ? small : xc;
        float k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round */
        float r = xc - k * 0.693359375f;
        r = r - k * -2.12194440e-4f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1.0f;
        int bits = ((int)k + 127) << 23;
        float scale;
        memcpy(&scale, &bits, sizeof scale);
        float result = p * scale;
        result = x < small ? 0.0f : result;
        return x != x ? x : result;
    }
    """
    float fast_expf "mxref_fast_expf"(float x) noexcept nogil
