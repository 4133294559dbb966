/* nb_setup.c - post-parse derivation in the order of spec §1.14: detector size, fluence,
 * near point, ROI, convention, normalization, usage check, step logic, geometry, interpolation
 * choice, cell, crystal size/oversample, HKL, stol, sources, mosaic, steps, background. */
#include "nb.h"
#include <string.h>
#include <float.h>

static void set3(double *v, double x, double y, double z)
{
    v[1] = x;
    v[2] = y;
    v[3] = z;
}

static const char *conv_name(int c)
{
    switch (c) {
    case CONV_ADXV: return "adxv";
    case CONV_MOSFLM: return "mosflm";
    case CONV_DENZO: return "denzo";
    case CONV_XDS: return "xds";
    case CONV_DIALS: return "dials";
    default: return "custom";
    }
}

/* §1.14 steps 1-6 */
static void detector_defaults(nb_t *nb)
{
    /* §4.1 */
    if (nb->fpixels != 0) nb->detsize_f = nb->pixel * nb->fpixels;
    if (nb->spixels != 0) nb->detsize_s = nb->pixel * nb->spixels;
    nb->fpixels = nb_toint(ceil(nb->detsize_f / nb->pixel - 0.5));
    nb->spixels = nb_toint(ceil(nb->detsize_s / nb->pixel - 0.5));
    /* a non-positive or absurd count is rejected in nb_setup (never an int overflow here) */
    if (nb->fpixels > 0 && nb->spixels > 0 && (long)nb->fpixels * nb->spixels <= 400000000L) nb->pixels = nb->fpixels * nb->spixels;
    else nb->pixels = 0;

    /* §1.13.1 fluence, sample clipping, flux */
    if (nb->flux != 0.0 && nb->exposure > 0.0 && nb->beamsize >= 0) nb->fluence = nb->flux * nb->exposure / nb->beamsize / nb->beamsize;
    if (nb->beamsize >= 0) {
        if (nb->beamsize < nb->sample_y) {
            printf("WARNING: clipping sample (%g m high) with beam (%g m)\n", nb->sample_y, nb->beamsize);
            nb->sample_y = nb->beamsize;
        }
        if (nb->beamsize < nb->sample_z) {
            printf("WARNING: clipping sample (%g m wide) with beam (%g m)\n", nb->sample_z, nb->beamsize);
            nb->sample_z = nb->beamsize;
        }
    }
    if (nb->exposure > 0.0) nb->flux = nb->fluence / nb->exposure * nb->beamsize * nb->beamsize;

    /* §4.2 near point */
    if (isnan(nb->ORGX)) nb->Fclose = nb->detsize_f / 2.0;
    else nb->Fclose = (nb->ORGX - 0.5) * nb->pixel;
    if (isnan(nb->ORGY)) nb->Sclose = nb->detsize_s / 2.0;
    else nb->Sclose = (nb->ORGY - 0.5) * nb->pixel;
    if (isnan(nb->Xclose)) nb->Xclose = nb->Fclose;
    if (isnan(nb->Yclose)) nb->Yclose = nb->Sclose;
    nb->Fbeam = nb->Fclose;
    nb->Sbeam = nb->Sclose;

    /* ROI defaults (negative means default) */
    if (nb->roi_xmin < 0) nb->roi_xmin = 0;
    if (nb->roi_xmax < 0) nb->roi_xmax = nb->fpixels;
    if (nb->roi_ymin < 0) nb->roi_ymin = 0;
    if (nb->roi_ymax < 0) nb->roi_ymax = nb->spixels;
    {
        long pp = ((long)nb->roi_xmax - nb->roi_xmin + 1) * ((long)nb->roi_ymax - nb->roi_ymin + 1);
        nb->progress_pixels = (pp > 2147483647L || pp < -2147483647L) ? 0 : (int)pp;
    }

    /* §4.3 convention block: named conventions overwrite all seven vectors */
    switch (nb->convention) {
    case CONV_ADXV:
        set3(nb->beam, 0, 0, 1); set3(nb->fdet, 1, 0, 0); set3(nb->sdet, 0, -1, 0); set3(nb->odet, 0, 0, 1);
        set3(nb->twotheta_axis, -1, 0, 0); set3(nb->polar_vector, 1, 0, 0); set3(nb->spindle, 1, 0, 0);
        if (isnan(nb->Xbeam)) nb->Xbeam = (nb->detsize_f + nb->pixel) / 2.0;
        if (isnan(nb->Ybeam)) nb->Ybeam = (nb->detsize_s - nb->pixel) / 2.0;
        nb->Fbeam = nb->Xbeam;
        nb->Sbeam = nb->detsize_s - nb->Ybeam;
        nb->pivot = PIVOT_BEAM;
        break;
    case CONV_MOSFLM:
    case CONV_DENZO:
        set3(nb->beam, 1, 0, 0); set3(nb->fdet, 0, 0, 1); set3(nb->sdet, 0, -1, 0); set3(nb->odet, 1, 0, 0);
        set3(nb->twotheta_axis, 0, 0, -1); set3(nb->polar_vector, 0, 0, 1); set3(nb->spindle, 0, 0, 1);
        if (isnan(nb->Xbeam)) nb->Xbeam = (nb->detsize_s + nb->pixel) / 2.0;
        if (isnan(nb->Ybeam)) nb->Ybeam = (nb->detsize_f + nb->pixel) / 2.0;
        if (nb->convention == CONV_MOSFLM) {
            nb->Fbeam = nb->Ybeam + 0.5 * nb->pixel;
            nb->Sbeam = nb->Xbeam + 0.5 * nb->pixel;
        } else {
            nb->Fbeam = nb->Ybeam + 0.0 * nb->pixel;
            nb->Sbeam = nb->Xbeam + 0.0 * nb->pixel;
        }
        nb->pivot = PIVOT_BEAM;
        break;
    case CONV_XDS:
    case CONV_DIALS:
        set3(nb->beam, 0, 0, 1); set3(nb->fdet, 1, 0, 0); set3(nb->sdet, 0, 1, 0); set3(nb->odet, 0, 0, 1);
        if (nb->convention == CONV_XDS) {
            set3(nb->twotheta_axis, 1, 0, 0); set3(nb->polar_vector, 1, 0, 0); set3(nb->spindle, 1, 0, 0);
        } else {
            set3(nb->twotheta_axis, 0, 1, 0); set3(nb->polar_vector, 0, 1, 0); set3(nb->spindle, 0, 1, 0);
        }
        if (isnan(nb->Xbeam)) nb->Xbeam = nb->Xclose;
        if (isnan(nb->Ybeam)) nb->Ybeam = nb->Yclose;
        nb->Fbeam = nb->Xbeam;
        nb->Sbeam = nb->Ybeam;
        nb->pivot = PIVOT_SAMPLE;
        break;
    default: /* CUSTOM keeps user vectors and the parsed pivot */
        if (isnan(nb->Xbeam)) nb->Xbeam = nb->Xclose;
        if (isnan(nb->Ybeam)) nb->Ybeam = nb->Yclose;
        nb->Fbeam = nb->Xbeam;
        nb->Sbeam = nb->Ybeam;
        nb->Fclose = nb->Xbeam;
        nb->Sclose = nb->Ybeam;
        break;
    }

    /* §4.4 normalization */
    nb_unitize(nb->beam, nb->beam);
    nb_unitize(nb->fdet, nb->fdet);
    nb_unitize(nb->sdet, nb->sdet);
    if (nb_unitize(nb->odet, nb->odet) != 1.0) {
        printf("WARNING: auto-generating odet_vector\n");
        nb_cross(nb->fdet, nb->sdet, nb->odet);
        nb_unitize(nb->odet, nb->odet);
    }
    nb_unitize(nb->polar_vector, nb->polar_vector);
    nb_unitize(nb->spindle, nb->spindle);
    nb_cross(nb->beam, nb->polar_vector, nb->vert);
    nb_unitize(nb->vert, nb->vert);
}

/* §5.2 count/range/step resolution; thick selects the thickness column's special cases */
static void resolve_steps(int *N, double *R, double *S, int thick, int disp)
{
    if (*N <= 0) {
        if (*R < 0.0) {
            if (*S <= 0.0) { *N = 1; *R = 0.0; *S = 0.0; }
            else { *R = *S; *N = 2; }
        } else {
            if (*S <= 0.0) {
                if (thick) { *N = 2; *S = *R / 2.0; }
                else { *S = *R; *N = 2; }
            } else {
                *N = nb_toint(ceil(*R / *S));
            }
        }
    } else {
        if (*R < 0.0) {
            if (*S <= 0.0) {
                if (thick) *R = 0.5e-6;
                else *R = 1.0; /* radians for divergence, 100 % for dispersion */
                (void)disp;
                *S = *R / *N;
            } else { *R = *S; *N = 2; }
        } else {
            if (*S <= 0.0) {
                if (*N < 2) *N = 2;
                *S = *R / (*N - 1);
            }
        }
    }
}

static void reset_steps(int *N, double *R, double *S)
{
    if (*R <= 0.0 || *S <= 0.0 || *N <= 0) {
        *N = 1;
        *R = 0.0;
        *S = 0.0;
    }
}

static void step_logic(nb_t *nb)
{
    /* §8.1 phi */
    if (nb->phisteps < 0) {
        if (nb->osc < 0.0) {
            if (nb->phistep <= 0.0) { nb->phisteps = 1; nb->osc = 0.0; nb->phistep = 0.0; }
            else { nb->osc = nb->phistep; nb->phisteps = 2; }
        } else {
            if (nb->phistep <= 0.0) { nb->phisteps = 2; nb->phistep = nb->osc / 2.0; }
            else nb->phisteps = nb_toint(ceil(nb->osc / nb->phistep));
        }
    } else {
        if (nb->phisteps == 0) nb->phisteps = 1;
        if (nb->osc < 0.0) {
            if (nb->phistep <= 0.0) { nb->osc = 1.0 / RTD; nb->phistep = nb->osc / nb->phisteps; }
            else { nb->osc = nb->phistep; nb->phisteps = 2; }
        } else {
            if (nb->phistep < 0.0) nb->phistep = nb->osc / nb->phisteps;
        }
    }

    resolve_steps(&nb->hdivsteps, &nb->hdivrange, &nb->hdivstep, 0, 0);
    resolve_steps(&nb->vdivsteps, &nb->vdivrange, &nb->vdivstep, 0, 0);
    resolve_steps(&nb->dispsteps, &nb->dispersion, &nb->dispstep, 0, 1);
    resolve_steps(&nb->detector_thicksteps, &nb->detector_thick, &nb->detector_thickstep, 1, 0);

    /* §8.4 domain count */
    if (nb->mosaic_domains < 0) {
        if (nb->mosaic_spread < 0.0) { nb->mosaic_spread = 0.0; nb->mosaic_domains = 1; }
        else if (nb->mosaic_spread == 0.0) nb->mosaic_domains = 1;
        else {
            printf("WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains\n");
            nb->mosaic_domains = 10;
        }
    } else {
        if (nb->mosaic_spread < 0.0) {
            printf("WARNING: no mosaic spread specified.  setting mosaic_domains = 1\n");
            nb->mosaic_spread = 0.0;
            nb->mosaic_domains = 1;
        } else if (nb->mosaic_spread == 0.0) {
            printf("WARNING: zero mosaic spread specified.  setting mosaic_domains = 1\n");
            nb->mosaic_domains = 1;
        }
    }

    reset_steps(&nb->hdivsteps, &nb->hdivrange, &nb->hdivstep);
    reset_steps(&nb->vdivsteps, &nb->vdivrange, &nb->vdivstep);
    reset_steps(&nb->dispsteps, &nb->dispersion, &nb->dispstep);
    reset_steps(&nb->detector_thicksteps, &nb->detector_thick, &nb->detector_thickstep);

    if (nb->detector_thick > 0.0 && nb->detector_mu < 0.0) {
        nb->detector_mu = 1.0 / nb->detector_thick;
        printf("WARNING: detector attenuation depth not specified, using %g um\n", nb->detector_mu);
    }
}

/* §4.5 */
static void place_detector(nb_t *nb)
{
    double o_r[4], ratio, w[4];
    int i;
    printf("%s convention selected.\n", conv_name(nb->convention));
    if (nb->pivot == PIVOT_SAMPLE) printf("pivoting detector around sample\n");
    else printf("pivoting detector around direct beam spot\n");

    nb_rotate(nb->odet, o_r, nb->detector_rotx, nb->detector_roty, nb->detector_rotz);
    ratio = nb_dot(nb->beam, o_r);
    if (ratio == 0.0) ratio = DBL_MIN;
    if (isnan(nb->close_distance)) nb->close_distance = fabs(ratio * nb->distance);
    nb->distance = nb->close_distance / ratio;

    if (nb->pivot == PIVOT_SAMPLE) {
        for (i = 1; i <= 3; i++)
            nb->pix0[i] = -nb->Fclose * nb->fdet[i] - nb->Sclose * nb->sdet[i] + nb->close_distance * nb->odet[i];
        nb_rotate(nb->pix0, nb->pix0, nb->detector_rotx, nb->detector_roty, nb->detector_rotz);
        nb_rotate_axis(nb->pix0, nb->pix0, nb->twotheta_axis, nb->detector_twotheta);
    }
    nb_rotate(nb->fdet, nb->fdet, nb->detector_rotx, nb->detector_roty, nb->detector_rotz);
    nb_rotate(nb->sdet, nb->sdet, nb->detector_rotx, nb->detector_roty, nb->detector_rotz);
    nb_rotate(nb->odet, nb->odet, nb->detector_rotx, nb->detector_roty, nb->detector_rotz);
    nb_rotate_axis(nb->fdet, nb->fdet, nb->twotheta_axis, nb->detector_twotheta);
    nb_rotate_axis(nb->sdet, nb->sdet, nb->twotheta_axis, nb->detector_twotheta);
    nb_rotate_axis(nb->odet, nb->odet, nb->twotheta_axis, nb->detector_twotheta);
    if (nb->pivot == PIVOT_BEAM) {
        for (i = 1; i <= 3; i++)
            nb->pix0[i] = -nb->Fbeam * nb->fdet[i] - nb->Sbeam * nb->sdet[i] + nb->distance * nb->beam[i];
    }
    nb->Fclose = -nb_dot(nb->pix0, nb->fdet);
    nb->Sclose = -nb_dot(nb->pix0, nb->sdet);
    nb->close_distance = nb_dot(nb->pix0, nb->odet);
    for (i = 1; i <= 3; i++) w[i] = nb->close_distance / ratio * nb->beam[i] - nb->pix0[i];
    nb->Fbeam = nb_dot(nb->fdet, w);
    nb->Sbeam = nb_dot(nb->sdet, w);
    nb->distance = nb->close_distance / ratio;
    nb->ORGX = nb->Fclose / nb->pixel + 0.5;
    nb->ORGY = nb->Sclose / nb->pixel + 0.5;
    {
        double ex[4] = {0, 0, 0, 1}, ey[4] = {0, 0, 1, 0}, ez[4] = {0, -1, 0, 0};
        nb->dials_origin[1] = 1000.0 * nb_dot(nb->pix0, ex);
        nb->dials_origin[2] = 1000.0 * nb_dot(nb->pix0, ey);
        nb->dials_origin[3] = 1000.0 * nb_dot(nb->pix0, ez);
    }
    printf("XDS incident beam: %g %g %g\n", nb_dot(nb->beam, nb->fdet), nb_dot(nb->beam, nb->sdet), nb_dot(nb->beam, nb->odet));
}

static void fix_len(double *v, const char *name)
{
    if (*v <= 0.0) {
        printf("WARNING: %s <= 0 (%g)\n", name, *v);
        *v = (*v < 0.0) ? -*v : DBL_MIN;
    }
}

static void clamp_sin(double *s)
{
    if (*s > 1.0) *s = 1.0;
    if (*s < -1.0) *s = -1.0;
}

static void clamp_cos(double *c)
{
    if ((*c) * (*c) > 1.0) *c = 1.0;
}

/* §3.1-§3.7 */
static void build_crystal(nb_t *nb)
{
    double V = 0.0, as, bs, cs;
    double bxc[4], cxa[4], axb[4];
    int i;
    if (nb->user_cell) {
        double a = nb->cell_a, b, c, al, be, ga, sigma, skew;
        double cas, cbs, cgs, sgs, sas, sbs;
        if (nb->cell_b <= 0.0) nb->cell_b = nb->cell_a;
        if (nb->cell_c <= 0.0) nb->cell_c = nb->cell_a;
        if (nb->alpha <= 0.0) nb->alpha = M_PI / 2.0;
        if (nb->beta <= 0.0) nb->beta = M_PI / 2.0;
        if (nb->gamma <= 0.0) nb->gamma = M_PI / 2.0;
        b = nb->cell_b;
        c = nb->cell_c;
        al = nb->alpha;
        be = nb->beta;
        ga = nb->gamma;
        sigma = (al + be + ga) / 2.0;
        skew = sin(sigma) * sin(sigma - al) * sin(sigma - be) * sin(sigma - ga);
        if (skew < 0.0) skew = -skew;
        V = 2.0 * a * b * c * sqrt(skew);
        if (V <= 0.0) {
            printf("WARNING: impossible unit cell volume: %g\n", V);
            V = DBL_MIN;
        }
        nb->V_star = 1.0 / V;
        as = b * c * sin(al) * nb->V_star;
        bs = c * a * sin(be) * nb->V_star;
        cs = a * b * sin(ga) * nb->V_star;
        fix_len(&as, "a_star");
        fix_len(&bs, "b_star");
        fix_len(&cs, "c_star");
        cas = (cos(be) * cos(ga) - cos(al)) / (sin(be) * sin(ga));
        cbs = (cos(ga) * cos(al) - cos(be)) / (sin(ga) * sin(al));
        cgs = (cos(al) * cos(be) - cos(ga)) / (sin(al) * sin(be));
        sgs = c * nb->V_star / as / bs;
        sas = a * nb->V_star / bs / cs;
        sbs = b * nb->V_star / cs / as;
        clamp_sin(&sas);
        clamp_sin(&sbs);
        clamp_sin(&sgs);
        clamp_cos(&cas);
        clamp_cos(&cbs);
        clamp_cos(&cgs);
        set3(nb->a_star, as, 0.0, 0.0);
        set3(nb->b_star, bs * cgs, bs * sgs, 0.0);
        set3(nb->c_star, cs * cbs, cs * (cas - cbs * cgs) / sgs, (cs * V) / (a * b * c * sgs));
    }
    if (nb->matfilename != NULL) {
        double s;
        nb_read_mat(nb);
        s = 1e-10 / nb->lambda0;
        nb_scale(nb->a_star, nb->a_star, s);
        nb_scale(nb->b_star, nb->b_star, s);
        nb_scale(nb->c_star, nb->c_star, s);
    }
    if (nb->misset[0] < 0.0) {
        double umat[9];
        nb_random_rotation(90.0f, umat, &nb->misset_seed);
        nb_umat2misset(umat, nb->misset);
        printf("random orientation misset angles: %f %f %f deg\n", nb->misset[1] * RTD, nb->misset[2] * RTD, nb->misset[3] * RTD);
        nb->misset[0] = 1.0;
    }
    if (nb->misset[0] > 0.0) {
        nb_rotate(nb->a_star, nb->a_star, nb->misset[1], nb->misset[2], nb->misset[3]);
        nb_rotate(nb->b_star, nb->b_star, nb->misset[1], nb->misset[2], nb->misset[3]);
        nb_rotate(nb->c_star, nb->c_star, nb->misset[1], nb->misset[2], nb->misset[3]);
    }
    /* §3.5 duality */
    nb_cross(nb->b_star, nb->c_star, bxc);
    nb_cross(nb->c_star, nb->a_star, cxa);
    nb_cross(nb->a_star, nb->b_star, axb);
    nb->V_star = nb_dot(nb->a_star, bxc);
    if (nb->user_cell) {
        nb_rescale(bxc, bxc, nb->cell_a / V);
        nb_rescale(cxa, cxa, nb->cell_b / V);
        nb_rescale(axb, axb, nb->cell_c / V);
        nb->V_star = 1.0 / V;
    }
    nb->V_cell = 1.0 / nb->V_star;
    nb_scale(bxc, nb->a, nb->V_cell);
    nb_scale(cxa, nb->b, nb->V_cell);
    nb_scale(axb, nb->c, nb->V_cell);
    /* §3.6 reciprocal rebuilt with the same V* */
    nb_cross(nb->b, nb->c, bxc);
    nb_cross(nb->c, nb->a, cxa);
    nb_cross(nb->a, nb->b, axb);
    nb_scale(bxc, nb->a_star, nb->V_star);
    nb_scale(cxa, nb->b_star, nb->V_star);
    nb_scale(axb, nb->c_star, nb->V_star);

    {
        double am = nb_magnitude(nb->a), bm = nb_magnitude(nb->b), cm = nb_magnitude(nb->c);
        double ca = nb_dot(nb->b, nb->c) / (bm * cm), cb = nb_dot(nb->c, nb->a) / (cm * am), cg = nb_dot(nb->a, nb->b) / (am * bm);
        clamp_cos(&ca);
        clamp_cos(&cb);
        clamp_cos(&cg);
        printf("Unit Cell: %g %g %g %g %g %g\n", am, bm, cm, acos(ca) * RTD, acos(cb) * RTD, acos(cg) * RTD);
        printf("Recp Cell: %g %g %g\n", nb_magnitude(nb->a_star), nb_magnitude(nb->b_star), nb_magnitude(nb->c_star));
        printf("volume = %g A^3\n", nb->V_cell);
        printf("real-space cell vectors (Angstrom):\n");
        printf("     %-10s  %-10s  %-10s\n", "a", "b", "c");
        for (i = 1; i <= 3; i++) printf("%c: %11.8f %11.8f %11.8f\n", 'X' + i - 1, nb->a[i], nb->b[i], nb->c[i]);
        printf("reciprocal-space cell vectors (Angstrom^-1):\n");
        for (i = 1; i <= 3; i++) printf("%c: %11.8f %11.8f %11.8f\n", 'X' + i - 1, nb->a_star[i], nb->b_star[i], nb->c_star[i]);
    }
    /* §3.7 to metres */
    nb_scale(nb->a, nb->a, 1e-10);
    nb_scale(nb->b, nb->b, 1e-10);
    nb_scale(nb->c, nb->c, 1e-10);
    memcpy(nb->a0, nb->a, sizeof nb->a);
    memcpy(nb->b0, nb->b, sizeof nb->b);
    memcpy(nb->c0, nb->c, sizeof nb->c);
}

/* §3.8 */
static void crystal_size(nb_t *nb)
{
    double xa, xb, xc, xmax, rps;
    int recommended;
    if (nb->sample_x > 0) nb->Na = ceil(nb->sample_x / nb_magnitude(nb->a0));
    if (nb->sample_y > 0) nb->Nb = ceil(nb->sample_y / nb_magnitude(nb->b0));
    if (nb->sample_z > 0) nb->Nc = ceil(nb->sample_z / nb_magnitude(nb->c0));
    if (nb->Na <= 1.0) nb->Na = 1.0;
    if (nb->Nb <= 1.0) nb->Nb = 1.0;
    if (nb->Nc <= 1.0) nb->Nc = 1.0;
    xa = nb_magnitude(nb->a0) * nb->Na;
    xb = nb_magnitude(nb->b0) * nb->Nb;
    xc = nb_magnitude(nb->c0) * nb->Nc;
    xmax = xa;
    if (xb > xmax) xmax = xb;
    if (xc > xmax) xmax = xc;
    printf("crystal is %g x %g x %g microns\n", xa * 1e6, xb * 1e6, xc * 1e6);
    rps = nb->lambda0 * nb->distance / nb->pixel;
    recommended = nb_toint(ceil(3.0 * xmax / rps));
    if (recommended <= 1) recommended = 1;
    if (nb->oversample <= 0) {
        nb->oversample = recommended;
        printf("auto-selected %d-fold oversampling\n", nb->oversample);
    }
    if (nb->oversample < recommended) {
        printf("WARNING: maximum dimension of sample is %g A\n", xmax * 1e10);
        printf("         but reciprocal pixel size is %g A\n", rps * 1e10);
        printf("         intensity may vary significantly across a pixel!\n");
        printf("         recommend -oversample %d to work around this\n", recommended);
    }
    nb->sample_x = xa;
    nb->sample_y = xb;
    nb->sample_z = xc;
    nb->density = 1.2e6;
    printf("approximate MW = %g\n", nb->density * (xa * xb * xc) * AVOGADRO / (nb->Na * nb->Nb * nb->Nc));
}

/* §5.3 and §2.4 */
static int make_sources(nb_t *nb)
{
    const double source_distance = 10.0;
    int n, i;
    if (nb->sourcefilename != NULL) {
        double *cols[5];
        if (nb_read_text_columns(nb->sourcefilename, 5, cols, &n) != 0) {
            fprintf(stderr, "nanoBragg: cannot read -sourcefile %s\n", nb->sourcefilename);
            return 9;
        }
        if (n == 0) {
            fprintf(stderr, "nanoBragg: -sourcefile %s is empty\n", nb->sourcefilename);
            return 9;
        }
        nb->source_X = cols[0];
        nb->source_Y = cols[1];
        nb->source_Z = cols[2];
        nb->source_I = cols[3];
        nb->source_lambda = cols[4];
        nb->sources = n;
        for (i = 0; i < n; i++) {
            if (isnan(nb->source_X[i])) nb->source_X[i] = -source_distance * nb->beam[1];
            if (isnan(nb->source_Y[i])) nb->source_Y[i] = -source_distance * nb->beam[2];
            if (isnan(nb->source_Z[i])) nb->source_Z[i] = -source_distance * nb->beam[3];
            if (isnan(nb->source_I[i])) nb->source_I[i] = 1.0;
            if (isnan(nb->source_lambda[i])) nb->source_lambda[i] = nb->lambda0;
        }
    } else {
        int h, v, d, k = 0;
        long cap = (long)nb->hdivsteps * nb->vdivsteps * nb->dispsteps;
        if (cap <= 0 || cap > 100000000L) {
            fprintf(stderr, "nanoBragg: unreasonable number of sources (%ld)\n", cap);
            return 9;
        }
        nb->source_X = malloc(sizeof(double) * (size_t)cap);
        nb->source_Y = malloc(sizeof(double) * (size_t)cap);
        nb->source_Z = malloc(sizeof(double) * (size_t)cap);
        nb->source_I = malloc(sizeof(double) * (size_t)cap);
        nb->source_lambda = malloc(sizeof(double) * (size_t)cap);
        if (!nb->source_X || !nb->source_Y || !nb->source_Z || !nb->source_I || !nb->source_lambda) return 9;
        for (d = 0; d < nb->dispsteps; d++) {
            printf("lambda%d = %.15g\n", d, nb->lambda0 * (1.0 + nb->dispstep * d - nb->dispersion / 2.0));
        }
        for (h = 0; h < nb->hdivsteps; h++) {
            for (v = 0; v < nb->vdivsteps; v++) {
                double hdiv = nb->hdivstep * h - nb->hdivrange / 2.0;
                double vdiv = nb->vdivstep * v - nb->vdivrange / 2.0;
                double q[4];
                if (nb->round_div) {
                    double T = (hdiv * hdiv - nb->hdivstep * nb->hdivstep / 4.0 * (1 - nb->hdivsteps % 2)) / nb->hdivrange / nb->hdivrange +
                               (vdiv * vdiv - nb->vdivstep * nb->vdivstep / 4.0 * (1 - nb->vdivsteps % 2)) / nb->vdivrange / nb->vdivrange;
                    if (T * 4.0 > 1.1) continue;
                }
                printf("divergence deviation: %g %g\n", hdiv, vdiv);
                q[0] = 0;
                q[1] = -source_distance * nb->beam[1];
                q[2] = -source_distance * nb->beam[2];
                q[3] = -source_distance * nb->beam[3];
                nb_rotate_axis(q, q, nb->polar_vector, vdiv);
                nb_rotate_axis(q, q, nb->vert, hdiv);
                for (d = 0; d < nb->dispsteps; d++) {
                    nb->source_X[k] = q[1];
                    nb->source_Y[k] = q[2];
                    nb->source_Z[k] = q[3];
                    nb->source_I[k] = 1.0 / (double)cap;
                    nb->source_lambda[k] = nb->lambda0 * (1.0 + nb->dispstep * d - nb->dispersion / 2.0);
                    ++k;
                }
            }
        }
        nb->sources = k;
    }
    printf("  created a total of %d sources:\n", nb->sources);
    for (i = 0; i < nb->sources; i++) {
        double v[4];
        printf("%g %g %g   %g %g\n", nb->source_X[i], nb->source_Y[i], nb->source_Z[i], nb->source_I[i], nb->source_lambda[i]);
        v[1] = nb->source_X[i];
        v[2] = nb->source_Y[i];
        v[3] = nb->source_Z[i];
        nb_unitize(v, v);
        nb->source_X[i] = v[1];
        nb->source_Y[i] = v[2];
        nb->source_Z[i] = v[3];
    }
    return 0;
}

static const char *shape_name(int s)
{
    switch (s) {
    case SHAPE_ROUND: return "round";
    case SHAPE_GAUSS: return "gaussian";
    case SHAPE_TOPHAT: return "tophat";
    default: return "square";
    }
}

static void parameter_printout(nb_t *nb)
{
    printf("  %d initialized hkls (all others = %g)\n", nb->hkls, nb->default_F);
    printf("  %s xtal: %.0fx%.0fx%.0f cells\n", shape_name(nb->xtal_shape), nb->Na, nb->Nb, nb->Nc);
    printf("  wave=%g meters +/- %g%% in %d steps\n", nb->lambda0, nb->dispersion * 100, nb->dispsteps);
    if (nb->nopolar) printf("  polarization effect disabled\n");
    else printf("  Kahn polarization factor: %f\n", nb->polarization);
    printf("  incident fluence: %g photons/m^2\n", nb->fluence);
    printf("  distance=%g detsize=%gx%g  pixel=%g meters (%dx%d pixels)\n", nb->distance, nb->detsize_f, nb->detsize_s, nb->pixel,
           nb->fpixels, nb->spixels);
    printf("  sensor is %g m thick in %d layers with mu=%g\n", nb->detector_thick, nb->detector_thicksteps, nb->detector_mu);
    printf("  Xbeam=%g Ybeam=%g\n", nb->Xbeam, nb->Ybeam);
    printf("  Fbeam=%g Sbeam=%g\n", nb->Fbeam, nb->Sbeam);
    printf("  Xclose=%g Yclose=%g\n", nb->Xclose, nb->Yclose);
    printf("  Fclose=%g Sclose=%g\n", nb->Fclose, nb->Sclose);
    printf("  DIRECTION_OF_DETECTOR_AXIS_1= %g %g %g\n", nb->fdet[1], nb->fdet[2], nb->fdet[3]);
    printf("  DIRECTION_OF_DETECTOR_AXIS_2= %g %g %g\n", nb->sdet[1], nb->sdet[2], nb->sdet[3]);
    printf("  DIRECTION_OF_DETECTOR_AXIS_3= %g %g %g\n", nb->odet[1], nb->odet[2], nb->odet[3]);
    printf("  INCIDENT_BEAM_DIRECTION= %g %g %g\n", nb->beam[1], nb->beam[2], nb->beam[3]);
    printf("  spindle ROTATION_AXIS= %g %g %g\n", nb->spindle[1], nb->spindle[2], nb->spindle[3]);
    {
        double pn[4];
        nb_cross(nb->beam, nb->polar_vector, pn);
        printf("  POLARIZATION_PLANE_NORMAL= %g %g %g\n", pn[1], pn[2], pn[3]);
    }
    printf("  dials origin= %g %g %g\n", nb->dials_origin[1], nb->dials_origin[2], nb->dials_origin[3]);
    printf("  roi: %d < x < %d && %d < y < %d\n", nb->roi_xmin, nb->roi_xmax, nb->roi_ymin, nb->roi_ymax);
    printf("  hdivrange=%g hdivstep=%g  radians\n", nb->hdivrange, nb->hdivstep);
    printf("  vdivrange=%g vdivstep=%g  radians\n", nb->vdivrange, nb->vdivstep);
    printf("  %d divergence steps\n", nb->hdivsteps * nb->vdivsteps);
    printf("  %d sources\n", nb->sources);
    printf("  %d mosaic domains over mosaic spread of %g degrees\n", nb->mosaic_domains, nb->mosaic_spread * RTD);
    printf("  %d phi steps from %g to %g degrees\n", nb->phisteps, nb->phi0 * RTD, (nb->phi0 + nb->osc) * RTD);
    printf("  %dx%d pixel oversample steps", nb->oversample, nb->oversample);
    if (nb->oversample_thick) printf(" +thick");
    if (nb->oversample_polar) printf(" +polar");
    if (nb->oversample_omega) printf(" +omega");
    printf("\n");
    if (nb->maskimage != NULL) printf("  pixel mask from %s\n", nb->maskfilename);
    if (nb->calculate_noise) {
        printf("  noise image paramters:\n");
        printf("                  seed: %ld\n", nb->seed);
        printf("       water droplet size: %g m\n", nb->water_size);
    }
}

int nb_setup(nb_t *nb)
{
    int rc, i;
    FILE *probe = NULL;

    detector_defaults(nb);

    printf("nanoBragg nanocrystal diffraction simulator - James Holton and Ken Frankel 5-17-17\n");
    if (nb->hklfilename == NULL) {
        probe = fopen(nb->dumpfilename, "rb");
        if (probe != NULL) {
            nb->have_fdump = 1;
            fclose(probe);
        } else if (nb->default_F == 0.0) {
            printf("ERROR: no hkl file and no dump file to read.");
        }
    }
    if ((nb->hklfilename == NULL && !nb->have_fdump && nb->default_F == 0.0) || (nb->matfilename == NULL && nb->cell_a == 0.0)) {
        nb_usage();
        if (nb->matfilename == NULL && nb->cell_a == 0.0)
            fprintf(stderr, "nanoBragg: need -mat or -cell (a crystal orientation/cell)\n");
        else
            fprintf(stderr, "nanoBragg: need -hkl, a readable %s, or -default_F\n", nb->dumpfilename);
        return 9;
    }
    if (nb->pixels <= 0) {
        fprintf(stderr, "nanoBragg: detector has no pixels or too many (fpixels=%d spixels=%d)\n", nb->fpixels, nb->spixels);
        return 9;
    }

    step_logic(nb);
    place_detector(nb);

    if (nb->interpolate < 0) {
        nb->interp_auto = 1;
        if (nb->Na <= 2 || nb->Nb <= 2 || nb->Nc <= 2) {
            printf("auto-selected tricubic interpolation of structure factors\n");
            nb->interpolate = 1;
        } else {
            printf("auto-selected no interpolation\n");
            nb->interpolate = 0;
        }
    }

    build_crystal(nb);
    crystal_size(nb);

    if (nb->hklfilename != NULL) {
        rc = nb_read_hkl(nb);
        if (rc) return rc;
        nb_write_fdump(nb);
    } else if (nb->have_fdump) {
        rc = nb_read_fdump(nb);
        if (rc) return rc;
    }
    if (nb->hkls == 0) nb->interpolate = 0;

    if (nb->stolfilename != NULL) {
        double *cols[2];
        int n;
        if (nb_read_text_columns(nb->stolfilename, 2, cols, &n) != 0 || n == 0) {
            fprintf(stderr, "nanoBragg: stol file %s is missing or empty\n", nb->stolfilename);
            return 9;
        }
        /* read and never used by the simulation (§2.5) */
        free(cols[0]);
        free(cols[1]);
    }

    if (nb->detector_thicksteps > 0) {
        for (i = 0; i < nb->detector_thicksteps; i++) printf("thick%d = %g um\n", i, nb->detector_thickstep * i * 1e6);
    }
    for (i = 0; i < nb->phisteps; i++) printf("phi%d = %g\n", i, (nb->phi0 + nb->phistep * i) * RTD);

    rc = make_sources(nb);
    if (rc) return rc;

    nb->mosaic_umats = calloc((size_t)nb->mosaic_domains + 1, 9 * sizeof(double));
    if (nb->mosaic_umats == NULL) return 9;
    for (i = 0; i < nb->mosaic_domains; i++) {
        double *u = nb->mosaic_umats + 9 * i;
        nb_random_rotation((float)nb->mosaic_spread, u, &nb->mosaic_seed);
        if (i == 0) {
            memset(u, 0, 9 * sizeof(double));
            u[0] = u[4] = u[8] = 1.0;
        }
    }
    printf("  created a total of %d mosaic domains\n", nb->mosaic_domains);

    {
        long st = (long)nb->sources * nb->mosaic_domains * nb->phisteps * nb->oversample * nb->oversample;
        /* zero steps (e.g. -mosaic_dom 0) gives NaN pixels in the original, not a failure */
        if (st < 0 || st > 2147483647L) {
            fprintf(stderr, "nanoBragg: unreasonable number of steps (%ld)\n", st);
            return 9;
        }
        nb->steps = (int)st;
    }

    parameter_printout(nb);

    nb->I_bg = 2.57 * 2.57 * R_E_SQR * nb->fluence * nb->water_size * nb->water_size * nb->water_size * 1e6 * AVOGADRO / 18.0;
    return 0;
}
