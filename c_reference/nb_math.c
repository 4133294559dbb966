/* nb_math.c - vector algebra, rotations, lattice functions, polarization, interpolation.
 * Vectors use elements 1..3 (element 0 caches the magnitude, as in the original).
 * Every expression keeps the left-to-right evaluation order the spec fixes (§0, §3.4, §8.2). */
#include "nb.h"
#include <limits.h>

double nb_dot(const double *x, const double *y)
{
    return x[1] * y[1] + x[2] * y[2] + x[3] * y[3];
}

double nb_magnitude(const double *v)
{
    return sqrt(v[1] * v[1] + v[2] * v[2] + v[3] * v[3]);
}

/* unit(v): divide by |v|; a zero vector stays zero. Returns the old magnitude. */
double nb_unitize(const double *v, double *out)
{
    double mag = nb_magnitude(v);
    if (mag != 0.0) {
        out[1] = v[1] / mag;
        out[2] = v[2] / mag;
        out[3] = v[3] / mag;
    } else {
        out[1] = v[1];
        out[2] = v[2];
        out[3] = v[3];
    }
    out[0] = 1.0;
    return mag;
}

void nb_cross(const double *x, const double *y, double *out)
{
    double r1 = x[2] * y[3] - x[3] * y[2];
    double r2 = x[3] * y[1] - x[1] * y[3];
    double r3 = x[1] * y[2] - x[2] * y[1];
    out[1] = r1;
    out[2] = r2;
    out[3] = r3;
    out[0] = nb_magnitude(out);
}

void nb_scale(const double *v, double *out, double s)
{
    out[1] = v[1] * s;
    out[2] = v[2] * s;
    out[3] = v[3] * s;
    out[0] = nb_magnitude(out);
}

/* rescale to length mag: v_i <- (mag/|v|)*v_i, divisor 1 when |v| <= 0 (§3.5) */
void nb_rescale(const double *v, double *out, double mag)
{
    double old = nb_magnitude(v);
    double f;
    if (old <= 0.0) old = 1.0;
    f = mag / old;
    out[1] = f * v[1];
    out[2] = f * v[2];
    out[3] = f * v[3];
    out[0] = nb_magnitude(out);
}

/* R = Rz*Ry*Rx, each step skipped at an exact zero angle (§3.4) */
void nb_rotate(const double *v, double *out, double rx, double ry, double rz)
{
    double x = v[1], y = v[2], z = v[3];
    double nx, ny, nz, c, s;
    if (rx != 0.0) {
        c = cos(rx);
        s = sin(rx);
        ny = y * c + z * (-s);
        nz = y * s + z * c;
        y = ny;
        z = nz;
    }
    if (ry != 0.0) {
        c = cos(ry);
        s = sin(ry);
        nx = x * c + y * 0.0 + z * s;
        nz = x * (-s) + y * 0.0 + z * c;
        x = nx;
        z = nz;
    }
    if (rz != 0.0) {
        c = cos(rz);
        s = sin(rz);
        nx = x * c + y * (-s);
        ny = x * s + y * c;
        x = nx;
        y = ny;
    }
    out[1] = x;
    out[2] = y;
    out[3] = z;
    out[0] = v[0];
}

/* Rodrigues rotation about axis (not normalized here, §8.2) */
void nb_rotate_axis(const double *v, double *out, const double *axis, double phi)
{
    double sinphi = sin(phi);
    double cosphi = cos(phi);
    double dot = (axis[1] * v[1] + axis[2] * v[2] + axis[3] * v[3]) * (1.0 - cosphi);
    double nx, ny, nz;
    nx = (axis[1] * dot + v[1] * cosphi) + ((-axis[3]) * v[2] + axis[2] * v[3]) * sinphi;
    ny = (axis[2] * dot + v[2] * cosphi) + (axis[3] * v[1] - axis[1] * v[3]) * sinphi;
    nz = (axis[3] * dot + v[3] * cosphi) + ((-axis[2]) * v[1] + axis[1] * v[2]) * sinphi;
    out[1] = nx;
    out[2] = ny;
    out[3] = nz;
    out[0] = v[0];
}

/* out = U*v with U row-major (§8.4) */
void nb_rotate_umat(const double *v, double *out, const double *u)
{
    double nx = u[0] * v[1] + u[1] * v[2] + u[2] * v[3];
    double ny = u[3] * v[1] + u[4] * v[2] + u[5] * v[3];
    double nz = u[6] * v[1] + u[7] * v[2] + u[8] * v[3];
    out[1] = nx;
    out[2] = ny;
    out[3] = nz;
    out[0] = v[0];
}

/* grating function; x already equals pi*h, product x*N formed first (§7) */
double nb_sincg(double x, double N)
{
    if (x == 0.0) return N;
    return sin(x * N) / sin(x);
}

double nb_sinc3(double x)
{
    if (x == 0.0) return 1.0;
    return 3.0 * (sin(x) / x - cos(x)) / (x * x);
}

/* Kahn polarization factor; unitizes all three arguments in place (§5.4, §6.6) */
double nb_polarization(double K, double *incident, double *diffracted, double *axis)
{
    double c2t, c2t2, s2t2, psi = 0.0;
    double B[4], E[4];
    nb_unitize(incident, incident);
    nb_unitize(diffracted, diffracted);
    nb_unitize(axis, axis);
    c2t = nb_dot(incident, diffracted);
    c2t2 = c2t * c2t;
    s2t2 = 1.0 - c2t2;
    if (K != 0.0) {
        nb_cross(axis, incident, B);
        nb_unitize(B, B);
        nb_cross(incident, B, E);
        nb_unitize(E, E);
        psi = -atan2(nb_dot(diffracted, B), nb_dot(diffracted, E));
    }
    return 0.5 * (1.0 + c2t2 - K * cos(2.0 * psi) * s2t2);
}

/* 4-point Lagrange form, terms added ((T0+T1)+T2)+T3 (§6.9) */
static double polint(const double *xa, const double *ya, double x)
{
    double t0, t1, t2, t3;
    t0 = (x - xa[1]) * (x - xa[2]) * (x - xa[3]) * ya[0] / ((xa[0] - xa[1]) * (xa[0] - xa[2]) * (xa[0] - xa[3]));
    t1 = (x - xa[0]) * (x - xa[2]) * (x - xa[3]) * ya[1] / ((xa[1] - xa[0]) * (xa[1] - xa[2]) * (xa[1] - xa[3]));
    t2 = (x - xa[0]) * (x - xa[1]) * (x - xa[3]) * ya[2] / ((xa[2] - xa[0]) * (xa[2] - xa[1]) * (xa[2] - xa[3]));
    t3 = (x - xa[0]) * (x - xa[1]) * (x - xa[2]) * ya[3] / ((xa[3] - xa[0]) * (xa[3] - xa[1]) * (xa[3] - xa[2]));
    return t0 + t1 + t2 + t3;
}

/* interpolate along l in each (i,j) row, then k for each i, then h */
void nb_polin3(const double *x1a, const double *x2a, const double *x3a, double ya[4][4][4],
               double x1, double x2, double x3, double *y)
{
    double u[4], t[4];
    int i, j;
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 4; j++) t[j] = polint(x3a, ya[i][j], x3);
        u[i] = polint(x2a, t, x2);
    }
    *y = polint(x1a, u, x1);
}

/* double -> int as the x86-64 cvttsd2si instruction does (INT_MIN when out of range or NaN),
 * so NaN indices from degenerate input behave like the original without undefined behaviour. */
int nb_toint(double x)
{
    if (x > -2147483649.0 && x < 2147483648.0) return (int)x;
    return INT_MIN;
}
