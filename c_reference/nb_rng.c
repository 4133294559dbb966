/* nb_rng.c - ran1 (shared shuffle table, §8.5), random rotations (§8.4), umat2misset (§3.3),
 * and the float32 Poisson/Gauss deviates of the noise image (§9.4). */
#include "nb.h"

#define IA 16807
#define IM 2147483647
#define AM (1.0 / IM)
#define IQ 127773
#define IR 2836
#define NTAB 32
#define NDIV (1 + (IM - 1) / NTAB)
#define EPS 1.2e-7
#define RNMX (1.0 - EPS)

/* table and last output are shared by every stream, as in the original */
static long ran1_iy = 0;
static long ran1_iv[NTAB];

static void advance(long *x)
{
    long k = (*x) / IQ;
    *x = IA * (*x - k * IQ) - IR * k;
    if (*x < 0) *x += IM;
}

float nb_ran1(long *idum)
{
    int j;
    float temp;
    if (*idum <= 0 || !ran1_iy) {
        if (-(*idum) < 1) *idum = 1;
        else *idum = -(*idum);
        for (j = NTAB + 7; j >= 0; j--) {
            advance(idum);
            if (j < NTAB) ran1_iv[j] = *idum;
        }
        ran1_iy = ran1_iv[0];
    }
    advance(idum);
    j = (int)(ran1_iy / NDIV);
    ran1_iy = ran1_iv[j];
    ran1_iv[j] = *idum;
    temp = (float)(AM * ran1_iy);
    if (temp > RNMX) return (float)RNMX;
    return temp;
}

/* random rotation with cap angle theta = float(gamma)*powf(float(1-r3^2), float(1/3)) */
void nb_random_rotation(float mosaicity, double *umat, long *seed)
{
    double r1, r2, r3, xyrad, rot, v1, v2, v3, c, s, t;
    float fr, pw;
    r1 = 2.0 * nb_ran1(seed) - 1.0;
    r2 = 2.0 * nb_ran1(seed) - 1.0;
    r3 = 2.0 * nb_ran1(seed) - 1.0;
    xyrad = sqrt(1.0 - r2 * r2);
    pw = powf((float)(1.0 - r3 * r3), (float)(1.0 / 3.0));
    fr = mosaicity * pw;
    rot = fr;
    v1 = xyrad * sin(M_PI * r1);
    v2 = xyrad * cos(M_PI * r1);
    v3 = r2;
    c = cos(rot);
    s = sin(rot);
    t = 1.0 - c;
    umat[0] = c + t * (v1 * v1);
    umat[1] = (t * v1) * v2 - s * v3;
    umat[2] = (t * v1) * v3 + s * v2;
    umat[3] = (t * v1) * v2 + s * v3;
    umat[4] = c + t * (v2 * v2);
    umat[5] = (t * v2) * v3 - s * v1;
    umat[6] = (t * v1) * v3 - s * v2;
    umat[7] = (t * v2) * v3 + s * v1;
    umat[8] = c + t * (v3 * v3);
}

static void unit_row(double *r)
{
    double m = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    if (m != 0.0) {
        r[0] /= m;
        r[1] /= m;
        r[2] /= m;
    }
}

/* rotation matrix -> XYZ misset angles (radians) */
void nb_umat2misset(const double *umat, double *angles)
{
    double u[9];
    int i;
    for (i = 0; i < 9; i++) u[i] = umat[i];
    for (i = 0; i < 3; i++) unit_row(u + 3 * i);
    /* second normalization pass, as the original does after its (no-op) cross checks */
    for (i = 0; i < 3; i++) unit_row(u + 3 * i);
    if (u[6] * u[6] < 1.0) {
        angles[1] = atan2(u[7], u[8]);
        angles[2] = atan2(-u[6], sqrt(u[7] * u[7] + u[8] * u[8]));
        angles[3] = atan2(u[3], u[0]);
    } else {
        angles[1] = M_PI;
        angles[2] = M_PI / 2.0;
        angles[3] = atan2(u[1], -u[4]);
    }
}

/* Lanczos log-gamma: float argument, double work, float result */
static float gammln(float xx)
{
    static const double cof[6] = {76.18009172947146, -86.50532032941677, 24.01409824083091,
                                  -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5};
    double x, y, tmp, ser;
    int j;
    y = x = xx;
    tmp = x + 5.5;
    tmp -= (x + 0.5) * log(tmp);
    ser = 1.000000000190015;
    for (j = 0; j <= 5; j++) ser += cof[j] / ++y;
    return (float)(-tmp + log(2.5066282746310005 * ser / x));
}

static float gaussdev(long *idum)
{
    static int iset = 0;
    static float gset;
    float fac, rsq, v1, v2;
    if (iset == 0) {
        do {
            v1 = (float)(2.0 * nb_ran1(idum) - 1.0);
            v2 = (float)(2.0 * nb_ran1(idum) - 1.0);
            rsq = v1 * v1 + v2 * v2;
        } while (rsq >= 1.0 || rsq == 0.0);
        fac = (float)sqrt(-2.0 * log(rsq) / rsq);
        gset = v1 * fac;
        iset = 1;
        return v2 * fac;
    }
    iset = 0;
    return gset;
}

float nb_poidev(float xm, long *idum)
{
    static float sq, alxm, g, oldm = -1.0f;
    float em, t, y;
    if (xm > 1.0e6) {
        return (float)(xm + sqrt(xm) * gaussdev(idum));
    }
    if (xm < 12.0) {
        if (xm != oldm) {
            oldm = xm;
            g = (float)exp(-xm);
        }
        em = -1;
        t = 1.0f;
        do {
            ++em;
            t *= nb_ran1(idum);
        } while (t > g);
    } else {
        if (xm != oldm) {
            oldm = xm;
            sq = (float)sqrt(2.0 * xm);
            alxm = (float)log(xm);
            g = xm * alxm - gammln((float)(xm + 1.0));
        }
        do {
            do {
                y = (float)tan(M_PI * nb_ran1(idum));
                em = sq * y + xm;
            } while (em < 0.0);
            em = (float)floor(em);
            t = (float)(0.9 * (1.0 + y * y) * exp(em * alxm - gammln((float)(em + 1.0)) - g));
        } while (nb_ran1(idum) > t);
    }
    return em;
}
