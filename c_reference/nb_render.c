/* nb_render.c - the serial pixel loop of spec §6 with the φ carry-over (§8.3), the global
 * interpolation kill-switch (§6.9), the -oversample_* running products (§6.10), statistics (§9.5),
 * progress meter (§10.3) and the -trace_pixel lines of docs/contracts.md §1, printed from inside
 * the loop with the very values it uses. */
#include "nb.h"
#include <string.h>

#define G "%.17g"

static const char *conv_upper(int c)
{
    switch (c) {
    case CONV_ADXV: return "ADXV";
    case CONV_MOSFLM: return "MOSFLM";
    case CONV_DENZO: return "DENZO";
    case CONV_XDS: return "XDS";
    case CONV_DIALS: return "DIALS";
    default: return "CUSTOM";
    }
}

static const char *shape_upper(int s)
{
    switch (s) {
    case SHAPE_ROUND: return "ROUND";
    case SHAPE_GAUSS: return "GAUSS";
    case SHAPE_TOPHAT: return "TOPHAT";
    default: return "SQUARE";
    }
}

static void vec_kv(const char *key, const double *v)
{
    printf(" %s=" G "," G "," G, key, v[1], v[2], v[3]);
}

void nb_trace_config(nb_t *nb)
{
    int have = nb->hkls > 0 && nb->Fhkl != NULL;
    printf("TRACE_C_CONFIG convention=%s pivot=%s fpixels=%d spixels=%d pixel_size_m=" G " distance_m=" G
           " close_distance_m=" G " Fbeam_m=" G " Sbeam_m=" G " Fclose_m=" G " Sclose_m=" G "\n",
           conv_upper(nb->convention), nb->pivot == PIVOT_SAMPLE ? "SAMPLE" : "BEAM", nb->fpixels, nb->spixels, nb->pixel,
           nb->distance, nb->close_distance, nb->Fbeam, nb->Sbeam, nb->Fclose, nb->Sclose);
    printf("TRACE_C_CONFIG lambda0_m=" G " fluence=" G " r_e_sqr=" G " steps=%d sources=%d mosaic_domains=%d mosaic_spread_deg=" G
           " phisteps=%d phi0_deg=" G " phistep_deg=" G " osc_deg=" G " oversample=%d oversample_thick=%d oversample_polar=%d"
           " oversample_omega=%d detector_thicksteps=%d detector_thick_m=" G " detector_mu=" G " water_size_m=" G " dmin_m=" G "\n",
           nb->lambda0, nb->fluence, R_E_SQR, nb->steps, nb->sources, nb->mosaic_domains, nb->mosaic_spread * RTD, nb->phisteps,
           nb->phi0 * RTD, nb->phistep * RTD, nb->osc * RTD, nb->oversample, nb->oversample_thick, nb->oversample_polar,
           nb->oversample_omega, nb->detector_thicksteps, nb->detector_thick, nb->detector_mu, nb->water_size, nb->dmin);
    printf("TRACE_C_CONFIG Na=" G " Nb=" G " Nc=" G " xtal_shape=%s fudge=" G " interpolate=%d default_F=" G
           " hkl_count=%d h_min=%d h_max=%d k_min=%d k_max=%d l_min=%d l_max=%d\n",
           nb->Na, nb->Nb, nb->Nc, shape_upper(nb->xtal_shape), nb->fudge, nb->interpolate, nb->default_F, have ? nb->hkls : 0,
           have ? nb->h_min : 0, have ? nb->h_max : 0, have ? nb->k_min : 0, have ? nb->k_max : 0, have ? nb->l_min : 0,
           have ? nb->l_max : 0);
    printf("TRACE_C_CONFIG polarization_K=" G " nopolar=%d point_pixel=%d curved_det=%d roi=%d,%d,%d,%d\n", nb->polarization,
           nb->nopolar, nb->point_pixel, nb->curved_det, nb->roi_xmin, nb->roi_xmax, nb->roi_ymin, nb->roi_ymax);
    printf("TRACE_C_CONFIG");
    vec_kv("fdet", nb->fdet);
    vec_kv("sdet", nb->sdet);
    vec_kv("odet", nb->odet);
    vec_kv("beam", nb->beam);
    vec_kv("spindle", nb->spindle);
    vec_kv("polar_axis", nb->polar_vector);
    vec_kv("twotheta_axis", nb->twotheta_axis);
    printf(" twotheta_deg=" G, nb->detector_twotheta * RTD);
    vec_kv("pix0", nb->pix0);
    vec_kv("a0", nb->a0);
    vec_kv("b0", nb->b0);
    vec_kv("c0", nb->c0);
    printf("\n");
}

static void t1(const char *key, double v) { printf("TRACE_C: %s " G "\n", key, v); }
static void t3(const char *key, const double *v) { printf("TRACE_C: %s " G " " G " " G "\n", key, v[1], v[2], v[3]); }
static void t3s(const char *key, const double *v, double s)
{
    printf("TRACE_C: %s " G " " G " " G "\n", key, v[1] * s, v[2] * s, v[3] * s);
}
static void ti(const char *key, int v) { printf("TRACE_C: %s %d\n", key, v); }
/* per-φ line tail: the rotated real basis a, b, c (Å) of the step, mosaic domain 0 (one-sided keys
   rot_[abc]_[xyz], read by `nbparity probe rotation`; other builds do not print them) */
#define PHI_BASIS_FMT " rot_a_x=" G " rot_a_y=" G " rot_a_z=" G " rot_b_x=" G " rot_b_y=" G " rot_b_z=" G \
                      " rot_c_x=" G " rot_c_y=" G " rot_c_z=" G
#define PHI_BASIS_ARGS a[1] * 1e10, a[2] * 1e10, a[3] * 1e10, b[1] * 1e10, b[2] * 1e10, b[3] * 1e10, \
                       c[1] * 1e10, c[2] * 1e10, c[3] * 1e10

int nb_render(nb_t *nb, float *floatimage, double *max_I_out, double *rmsd_out)
{
    const double r_e_sqr = R_E_SQR;
    const int os = nb->oversample;
    const double subpixel = nb->pixel / os;
    double ap[4], bp[4], cp[4], a[4], b[4], c[4];
    double max_I = 0.0, max_I_x = 0.0, max_I_y = 0.0, sum = 0.0, sumsqr = 0.0, omega_sum = 0.0;
    long sumn = 0, progress_pixel = 0;
    long i;
    int fpixel, spixel;
    double avg, rms, rmsd;

    memcpy(ap, nb->a0, sizeof ap);
    memcpy(bp, nb->b0, sizeof bp);
    memcpy(cp, nb->c0, sizeof cp);
    memcpy(a, nb->a0, sizeof a);
    memcpy(b, nb->b0, sizeof b);
    memcpy(c, nb->c0, sizeof c);

    if (nb->trace) nb_trace_config(nb);

    /* Under OpenMP (an -fopenmp build) the rows are split as the original nanoBragg splits them:
     * schedule(static) is what libgomp does for its schedule(auto), one contiguous block of rows per
     * thread, and each thread starts from a firstprivate copy of the pre-loop crystal state, so the
     * φ = 0 carry-over (C-PARITY-001) restarts at the first pixel of every thread's block. The serial
     * build is the one-thread case of the same loop. */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) private(fpixel, i) firstprivate(ap, bp, cp, a, b, c) \
    reduction(+ : sum, sumsqr, sumn, omega_sum)
#endif
    for (spixel = 0; spixel < nb->spixels; spixel++) {
        for (fpixel = 0, i = (long)spixel * nb->fpixels; fpixel < nb->fpixels; fpixel++, i++) {
            double I, polar, omega_pixel, capture_fraction = 0.0, test;
            double Fdet = 0.0, Sdet = 0.0, Odet;
            int thick_tic, subS, subF;
            int tr;
            /* cos_2theta is printed as the C leaves incident (last source) and diffracted (last
             * sub-pixel of the last layer, after any in-place unitize by the polarization call) */
            double tr_inc[4] = {0, 0, 0, 0}, tr_diff[4] = {0, 0, 0, 0};
            /* printout values: the loop variables as they stand at the end */
            double h = 0, k = 0, l = 0, F_cell = 0, F_latt = 0, stol = 0;
            int h0 = 0, k0 = 0, l0 = 0;
            double pixel_pos[4] = {0, 0, 0, 0};

            if (fpixel < nb->roi_xmin || fpixel > nb->roi_xmax || spixel < nb->roi_ymin || spixel > nb->roi_ymax) continue;
            if (nb->maskimage != NULL && i < nb->mask_n && nb->maskimage[i] == 0) continue;
            tr = nb->trace && spixel == nb->trace_s && fpixel == nb->trace_f;

            I = nb->I_bg;
            polar = nb->nopolar ? 1.0 : 0.0;
            omega_pixel = 0.0;

            for (thick_tic = 0; thick_tic < nb->detector_thicksteps; thick_tic++) {
                Odet = thick_tic * nb->detector_thickstep;
                capture_fraction = (nb->detector_thick == 0.0) ? 1.0 : 0.0;
                for (subS = 0; subS < os; subS++) {
                    for (subF = 0; subF < os; subF++) {
                        double diffracted[4], airpath;
                        int source, j;
                        Fdet = subpixel * (double)((long)fpixel * os + subF) + subpixel / 2.0;
                        Sdet = subpixel * (double)((long)spixel * os + subS) + subpixel / 2.0;
                        for (j = 1; j <= 3; j++)
                            pixel_pos[j] = Fdet * nb->fdet[j] + Sdet * nb->sdet[j] + Odet * nb->odet[j] + nb->pix0[j];
                        if (nb->curved_det) {
                            /* §4.8: lab y and z components taken as arc lengths */
                            double q[4], fy = pixel_pos[2], fz = pixel_pos[3];
                            q[0] = 0;
                            q[1] = nb->distance * nb->beam[1];
                            q[2] = nb->distance * nb->beam[2];
                            q[3] = nb->distance * nb->beam[3];
                            nb_rotate_axis(q, q, nb->sdet, fy / nb->distance);
                            nb_rotate_axis(q, pixel_pos, nb->fdet, fz / nb->distance);
                        }
                        airpath = nb_unitize(pixel_pos, diffracted);
                        if (omega_pixel == 0.0 || nb->oversample_omega) {
                            omega_pixel = nb->pixel * nb->pixel / airpath / airpath * nb->close_distance / airpath;
                            if (nb->point_pixel) omega_pixel = 1.0 / airpath / airpath;
                        }
                        omega_sum += omega_pixel;
                        if (capture_fraction == 0.0 || nb->oversample_thick) {
                            double parallax = nb_dot(diffracted, nb->odet);
                            capture_fraction = exp(-thick_tic * nb->detector_thickstep * nb->detector_mu / parallax) -
                                               exp(-(thick_tic + 1) * nb->detector_thickstep * nb->detector_mu / parallax);
                        }

                        if (tr && nb->sources > 0) {
                            double inc[4], sv[4], om, lam = nb->source_lambda[0];
                            inc[1] = -nb->source_X[0];
                            inc[2] = -nb->source_Y[0];
                            inc[3] = -nb->source_Z[0];
                            for (j = 1; j <= 3; j++) sv[j] = (diffracted[j] - inc[j]) / lam;
                            om = nb->pixel * nb->pixel / airpath / airpath * nb->close_distance / airpath;
                            if (nb->point_pixel) om = 1.0 / airpath / airpath;
                            t3("pix0_vector_meters", nb->pix0);
                            t3("fdet_vec", nb->fdet);
                            t3("sdet_vec", nb->sdet);
                            t3("pixel_pos_meters", pixel_pos);
                            t1("R_distance_meters", airpath);
                            t1("omega_pixel_sr", omega_pixel); /* the held value the loop uses */
                            t1("close_distance_meters", nb->close_distance);
                            t1("obliquity_factor", nb->close_distance / airpath);
                            t3("diffracted_vec", diffracted);
                            t3("incident_vec", inc);
                            t1("lambda_meters", lam);
                            t1("lambda_angstroms", lam * 1e10);
                            t3("scattering_vec_A_inv", sv);
                            t1("omega_subpixel_sr", om); /* this sub-pixel's own solid angle */
                        }

                        for (source = 0; source < nb->sources; source++) {
                            double incident[4], scattering[4], lambda;
                            int phi_tic, mos_tic;
                            incident[1] = -nb->source_X[source];
                            incident[2] = -nb->source_Y[source];
                            incident[3] = -nb->source_Z[source];
                            lambda = nb->source_lambda[source];
                            if (tr) memcpy(tr_inc, incident, sizeof tr_inc);
                            for (j = 1; j <= 3; j++) scattering[j] = (diffracted[j] - incident[j]) / lambda;
                            stol = 0.5 * nb_magnitude(scattering);
                            if (nb->dmin > 0.0 && stol > 0.0) {
                                if (nb->dmin > 0.5 / stol) continue;
                            }
                            if (!nb->nopolar && (polar == 0.0 || nb->oversample_polar))
                                polar = nb_polarization(nb->polarization, incident, diffracted, nb->polar_vector);
                            if (tr) memcpy(tr_inc, incident, sizeof tr_inc);

                            for (phi_tic = 0; phi_tic < nb->phisteps; phi_tic++) {
                                double phi = nb->phi0 + nb->phistep * phi_tic;
                                if (phi != 0.0) {
                                    nb_rotate_axis(nb->a0, ap, nb->spindle, phi);
                                    nb_rotate_axis(nb->b0, bp, nb->spindle, phi);
                                    nb_rotate_axis(nb->c0, cp, nb->spindle, phi);
                                }
                                for (mos_tic = 0; mos_tic < nb->mosaic_domains; mos_tic++) {
                                    double Fa = 1.0, Fb = 1.0, Fc = 1.0;
                                    int trb = tr && source == 0 && mos_tic == 0;
                                    if (nb->mosaic_spread > 0.0) {
                                        const double *u = nb->mosaic_umats + 9 * mos_tic;
                                        nb_rotate_umat(ap, a, u);
                                        nb_rotate_umat(bp, b, u);
                                        nb_rotate_umat(cp, c, u);
                                    } else {
                                        memcpy(a, ap, sizeof a);
                                        memcpy(b, bp, sizeof b);
                                        memcpy(c, cp, sizeof c);
                                    }
                                    h = nb_dot(a, scattering);
                                    k = nb_dot(b, scattering);
                                    l = nb_dot(c, scattering);
                                    h0 = nb_toint(ceil(h - 0.5));
                                    k0 = nb_toint(ceil(k - 0.5));
                                    l0 = nb_toint(ceil(l - 0.5));

                                    if (nb->Na > 1) Fa = nb_sincg(M_PI * h, nb->Na);
                                    if (nb->Nb > 1) Fb = nb_sincg(M_PI * k, nb->Nb);
                                    if (nb->Nc > 1) Fc = nb_sincg(M_PI * l, nb->Nc);
                                    if (nb->xtal_shape == SHAPE_SQUARE) {
                                        F_latt = 1.0;
                                        if (nb->Na > 1) F_latt *= Fa;
                                        if (nb->Nb > 1) F_latt *= Fb;
                                        if (nb->Nc > 1) F_latt *= Fc;
                                    } else {
                                        double dh = h - h0, dk = k - k0, dl = l - l0, dr[4], hrad, rho;
                                        for (j = 1; j <= 3; j++) dr[j] = dh * nb->a_star[j] + dk * nb->b_star[j] + dl * nb->c_star[j];
                                        rho = nb_dot(dr, dr) * nb->Na * nb->Na * nb->Nb * nb->Nb * nb->Nc * nb->Nc;
                                        if (nb->xtal_shape == SHAPE_ROUND) {
                                            hrad = dh * dh * nb->Na * nb->Na + dk * dk * nb->Nb * nb->Nb + dl * dl * nb->Nc * nb->Nc;
                                            F_latt = nb->Na * nb->Nb * nb->Nc * 0.723601254558268 * nb_sinc3(M_PI * sqrt(hrad * nb->fudge));
                                        } else if (nb->xtal_shape == SHAPE_GAUSS) {
                                            F_latt = nb->Na * nb->Nb * nb->Nc * exp(-(rho / 0.63 * nb->fudge));
                                        } else {
                                            F_latt = (rho * nb->fudge < 0.3969) ? nb->Na * nb->Nb * nb->Nc : 0.0;
                                        }
                                    }

                                    if (trb && phi_tic == 0) {
                                        int hr[3];
                                        t3s("rot_a_angstroms", a, 1e10);
                                        t3s("rot_b_angstroms", b, 1e10);
                                        t3s("rot_c_angstroms", c, 1e10);
                                        t3("rot_a_star_A_inv", nb->a_star);
                                        t3("rot_b_star_A_inv", nb->b_star);
                                        t3("rot_c_star_A_inv", nb->c_star);
                                        printf("TRACE_C: hkl_frac " G " " G " " G "\n", h, k, l);
                                        hr[0] = h0;
                                        hr[1] = k0;
                                        hr[2] = l0;
                                        printf("TRACE_C: hkl_rounded %d %d %d\n", hr[0], hr[1], hr[2]);
                                        t1("F_latt_a", Fa);
                                        t1("F_latt_b", Fb);
                                        t1("F_latt_c", Fc);
                                        t1("F_latt", F_latt);
                                    }

                                    if (F_latt == 0.0 && nb->water_size == 0.0) {
                                        if (trb)
                                            printf("TRACE_C_PHI phi_tic=%d phi_deg=" G " k_frac=" G " F_latt_b=" G " F_latt=" G " h_frac=" G
                                                   " l_frac=" G " F_latt_a=" G " F_latt_c=" G " layer=%d subS=%d subF=%d" PHI_BASIS_FMT "\n",
                                                   phi_tic, phi * RTD, k, Fb, F_latt, h, l, Fa, Fc, thick_tic, subS, subF, PHI_BASIS_ARGS);
                                        continue;
                                    }

                                    /* §6.9 structure factor */
                                    if (nb->interpolate) {
                                        int hf = nb_toint(floor(h)), kf = nb_toint(floor(k)), lf = nb_toint(floor(l));
                                        int out = ((h - nb->h_min + 3) > nb->h_range) || (h - 2 < nb->h_min) ||
                                                  ((k - nb->k_min + 3) > nb->k_range) || (k - 2 < nb->k_min) ||
                                                  ((l - nb->l_min + 3) > nb->l_range) || (l - 2 < nb->l_min);
                                        /* NaN indices pass the test in the original and index wildly; treat as out of range */
                                        if (!out) {
                                            long dh = (long)hf - 1 - nb->h_min, dk = (long)kf - 1 - nb->k_min, dl = (long)lf - 1 - nb->l_min;
                                            if (dh < 0 || dh + 3 > nb->h_range || dk < 0 || dk + 3 > nb->k_range || dl < 0 || dl + 3 > nb->l_range)
                                                out = 1;
                                        }
                                        if (out) {
                                            static int warned = 0;
                                            if (!warned) {
                                                printf("WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: %g,%g,%g,%d,%d,%d\n",
                                                       h, k, l, h0, k0, l0);
                                                printf("WARNING: further warnings will not be printed! ");
                                                warned = 1;
                                            }
                                            F_cell = nb->default_F;
                                            nb->interpolate = 0;
                                        } else {
                                            double hn[4], kn[4], ln[4], sub[4][4][4];
                                            int ii, jj, mm;
                                            for (ii = 0; ii < 4; ii++) {
                                                hn[ii] = hf - 1 + ii;
                                                kn[ii] = kf - 1 + ii;
                                                ln[ii] = lf - 1 + ii;
                                            }
                                            for (ii = 0; ii < 4; ii++)
                                                for (jj = 0; jj < 4; jj++)
                                                    for (mm = 0; mm < 4; mm++) {
                                                        size_t idx = ((size_t)(hf - 1 + ii - nb->h_min) * (size_t)(nb->k_range + 1) +
                                                                      (size_t)(kf - 1 + jj - nb->k_min)) * (size_t)(nb->l_range + 1) +
                                                                     (size_t)(lf - 1 + mm - nb->l_min);
                                                        sub[ii][jj][mm] = nb->Fhkl[idx];
                                                    }
                                            nb_polin3(hn, kn, ln, sub, h, k, l, &F_cell);
                                        }
                                    }
                                    if (!nb->interpolate) {
                                        if (nb->hkls && nb->Fhkl && h0 <= nb->h_max && h0 >= nb->h_min && k0 <= nb->k_max && k0 >= nb->k_min &&
                                            l0 <= nb->l_max && l0 >= nb->l_min) {
                                            size_t idx = ((size_t)(h0 - nb->h_min) * (size_t)(nb->k_range + 1) + (size_t)(k0 - nb->k_min)) *
                                                             (size_t)(nb->l_range + 1) + (size_t)(l0 - nb->l_min);
                                            F_cell = nb->Fhkl[idx];
                                        } else {
                                            F_cell = nb->default_F;
                                        }
                                    }

                                    if (trb) {
                                        if (phi_tic == 0) {
                                            printf("TRACE_C_PHI phi_tic=%d phi_deg=" G " k_frac=" G " F_latt_b=" G " F_latt=" G " h_frac=" G
                                                   " l_frac=" G " F_latt_a=" G " F_latt_c=" G " F_cell=" G " I_term=" G " layer=%d subS=%d subF=%d" PHI_BASIS_FMT "\n",
                                                   phi_tic, phi * RTD, k, Fb, F_latt, h, l, Fa, Fc, F_cell, F_cell * F_cell * F_latt * F_latt, thick_tic,
                                                   subS, subF, PHI_BASIS_ARGS);
                                            t1("F_cell", F_cell);
                                        } else {
                                            printf("TRACE_C_PHI phi_tic=%d phi_deg=" G " k_frac=" G " F_latt_b=" G " F_latt=" G " h_frac=" G
                                                   " l_frac=" G " F_latt_a=" G " F_latt_c=" G " F_cell=" G " I_term=" G " layer=%d subS=%d subF=%d" PHI_BASIS_FMT "\n",
                                                   phi_tic, phi * RTD, k, Fb, F_latt, h, l, Fa, Fc, F_cell, F_cell * F_cell * F_latt * F_latt, thick_tic,
                                                   subS, subF, PHI_BASIS_ARGS);
                                        }
                                    }

                                    I += F_cell * F_cell * F_latt * F_latt;
                                    if (nb->oversample_thick) I *= capture_fraction;
                                    if (nb->oversample_polar) I *= polar;
                                    if (nb->oversample_omega) I *= omega_pixel;
                                }
                            }
                        }
                        if (tr) memcpy(tr_diff, diffracted, sizeof tr_diff);
                    }
                }
            }

            test = r_e_sqr * nb->fluence * I / nb->steps;
            if (!nb->oversample_thick) test *= capture_fraction;
            if (!nb->oversample_polar) test *= polar;
            if (!nb->oversample_omega) test *= omega_pixel;
            floatimage[i] = (float)(floatimage[i] + test);

            if (tr) {
                t1("I_before_scaling", I);
                t1("r_e_meters", sqrt(r_e_sqr));
                t1("r_e_sqr", r_e_sqr);
                t1("fluence_photons_per_m2", nb->fluence);
                ti("steps", nb->steps);
                ti("oversample_thick", nb->oversample_thick);
                ti("oversample_polar", nb->oversample_polar);
                ti("oversample_omega", nb->oversample_omega);
                /* the variables as the loop leaves them, whether or not the final value uses them */
                t1("capture_fraction", capture_fraction);
                t1("polar", polar);
                t1("omega_pixel", omega_pixel);
                t1("cos_2theta", nb_dot(tr_inc, tr_diff));
                t1("I_pixel_final", test);
                t1("floatimage_accumulated", (double)floatimage[i]);
            }

#ifdef _OPENMP
#pragma omp critical(nb_max_I)
#endif
            if (floatimage[i] > max_I) {
                max_I = floatimage[i];
                max_I_x = Fdet;
                max_I_y = Sdet;
            }
            sum += floatimage[i];
            sumsqr += floatimage[i] * floatimage[i]; /* float product, as the original */
            ++sumn;

            if (nb->printout) {
                if ((fpixel == nb->printout_fpixel && spixel == nb->printout_spixel) || nb->printout_fpixel < 0) {
                    double twotheta = atan2(sqrt(pixel_pos[2] * pixel_pos[2] + pixel_pos[3] * pixel_pos[3]), pixel_pos[1]);
                    double test2 = sin(twotheta / 2.0) / (nb->lambda0 * 1e10);
                    printf("%4d %4d : stol = %g or %g\n", fpixel, spixel, stol, test2);
                    printf("at %g %g %g\n", pixel_pos[1], pixel_pos[2], pixel_pos[3]);
                    printf("hkl= %f %f %f  hkl0= %d %d %d\n", h, k, l, h0, k0, l0);
                    printf(" F_cell=%g  F_latt=%g   I = %g\n", F_cell, F_latt, I);
                    printf("I/steps %15.10g\n", I / nb->steps);
                    printf("polar   %15.10g\n", polar);
                    printf("omega   %15.10g\n", omega_pixel);
                    printf("capfrac %15.10g\n", capture_fraction);
                    printf("pixel   %15.10g\n", (double)floatimage[i]);
                    printf("real-space cell vectors (Angstrom):\n");
                    printf("     %-10s  %-10s  %-10s\n", "a", "b", "c");
                    printf("X: %11.8f %11.8f %11.8f\n", a[1] * 1e10, b[1] * 1e10, c[1] * 1e10);
                    printf("Y: %11.8f %11.8f %11.8f\n", a[2] * 1e10, b[2] * 1e10, c[2] * 1e10);
                    printf("Z: %11.8f %11.8f %11.8f\n", a[3] * 1e10, b[3] * 1e10, c[3] * 1e10);
                }
            } else if (nb->progress_meter && nb->progress_pixels / 100 > 0) {
                long pp, tot = nb->progress_pixels;
#ifdef _OPENMP
#pragma omp atomic read
#endif
                pp = progress_pixel;
                if (pp % (tot / 20 > 0 ? tot / 20 : 1) == 0 || ((10 * pp < tot || 10 * pp > 9 * tot) && (pp % (tot / 100) == 0))) {
                    printf("%ld%% done\n", pp * 100 / tot);
                    fflush(stdout);
                }
            }
#ifdef _OPENMP
#pragma omp atomic update
#endif
            ++progress_pixel;
        }
    }

    printf("\n");
    printf("solid angle subtended by detector = %g steradian ( %g%% sphere)\n", omega_sum / nb->steps,
           100 * omega_sum / nb->steps / 4 / M_PI);

    if (sumn <= 0) sumn = 1;
    avg = sum / sumn;
    if (sumn <= 1) sumn = 2;
    rms = sqrt(sumsqr / (sumn - 1));
    sumsqr = 0.0;
    sumn = 0;
    i = 0;
    for (spixel = 0; spixel < nb->spixels; spixel++)
        for (fpixel = 0; fpixel < nb->fpixels; fpixel++, i++) {
            double d;
            if (fpixel < nb->roi_xmin || fpixel > nb->roi_xmax || spixel < nb->roi_ymin || spixel > nb->roi_ymax) continue;
            d = floatimage[i] - avg;
            sumsqr += d * d;
            ++sumn;
        }
    if (sumn <= 1) sumn = 2;
    rmsd = sqrt(sumsqr / (sumn - 1));
    printf("max_I = %g  at %g %g\n", max_I, max_I_x, max_I_y);
    printf("mean= %g rms= %g rmsd= %g\n", avg, rms, rmsd);
    *max_I_out = max_I;
    *rmsd_out = rmsd;
    return 0;
}
