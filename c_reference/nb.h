/* nb.h - shared state and prototypes of the clean-room nanoBragg reference.
 * Behaviour follows shared/docs/nanobragg-spec.md; section numbers below refer to it. */
#ifndef NB_H
#define NB_H

#include <stdio.h>
#include <stdlib.h>
#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
/* RTD = 180*(1/pi), the double 57.29577951308232 (spec §0) */
#define RTD (180.0 * (1.0 / M_PI))

enum { CONV_ADXV, CONV_MOSFLM, CONV_DENZO, CONV_XDS, CONV_DIALS, CONV_CUSTOM };
enum { PIVOT_BEAM, PIVOT_SAMPLE };
enum { SHAPE_SQUARE, SHAPE_ROUND, SHAPE_GAUSS, SHAPE_TOPHAT };

#define R_E_SQR 7.94079248018965e-30
#define AVOGADRO 6.02214179e23

typedef struct {
    /* raw command line */
    int argc;
    char **argv;

    /* files */
    const char *hklfilename, *matfilename, *sourcefilename, *imgfilename, *maskfilename;
    const char *stolfilename;
    double stol_file_mult;
    const char *dumpfilename, *floatfilename, *intfilename, *pgmfilename, *noisefilename;
    int write_pgm, calculate_noise;

    /* crystal */
    int user_cell;
    double cell_a, cell_b, cell_c, alpha, beta, gamma;
    double misset[4]; /* misset[0] flag: 0 off, >0 on, <0 random */
    long misset_seed, mosaic_seed, seed;
    double Na, Nb, Nc;
    double sample_x, sample_y, sample_z;
    double density, molecular_weight;
    int xtal_shape;
    double fudge;
    double default_F;
    int interpolate; /* -1 auto, 0 off, 1 on */
    int interp_auto;

    /* beam */
    double lambda0, dispersion, dispstep;
    int dispsteps;
    double hdivrange, vdivrange, hdivstep, vdivstep;
    int hdivsteps, vdivsteps;
    int round_div;
    double polarization;
    int nopolar;
    double fluence, flux, exposure, beamsize;
    double water_size;
    int coherent;

    /* detector */
    double pixel, detsize_f, detsize_s;
    int fpixels, spixels, pixels;
    double distance, close_distance;
    double Xbeam, Ybeam, Xclose, Yclose, ORGX, ORGY;
    double Fbeam, Sbeam, Fclose, Sclose;
    double detector_rotx, detector_roty, detector_rotz, detector_twotheta;
    double fdet[4], sdet[4], odet[4], beam[4], polar_vector[4], spindle[4], twotheta_axis[4];
    double vert[4];
    double pix0[4];
    double user_pix0[4];
    double dials_origin[4];
    int curved_det, point_pixel;
    double detector_mu, detector_thick, detector_thickstep;
    int detector_thicksteps;
    int convention, pivot;

    /* rotation, mosaic */
    double phi0, osc, phistep;
    int phisteps;
    double mosaic_spread;
    int mosaic_domains;
    double *mosaic_umats;

    /* sampling */
    int oversample, oversample_thick, oversample_polar, oversample_omega;
    int roi_xmin, roi_xmax, roi_ymin, roi_ymax;
    double dmin;

    /* output */
    double intfile_scale, pgm_scale, adc;
    int printout, printout_fpixel, printout_spixel, progress_meter;
    int trace, trace_s, trace_f;
    int r1_matching; /* quirk C-ARGV-001: 1 = R1 option matching (default), 0 = R2 (exact -misset, no -dump) */

    /* mask */
    unsigned short *maskimage;
    long mask_n;

    /* crystal vectors: Angstrom^-1 reciprocal, metres real (spec §3.7) */
    double a_star[4], b_star[4], c_star[4];
    double a[4], b[4], c[4];
    double a0[4], b0[4], c0[4];
    double V_cell, V_star;

    /* structure factors */
    double *Fhkl;
    int hkls;
    int h_min, h_max, k_min, k_max, l_min, l_max;
    int h_range, k_range, l_range;
    int have_fdump;

    /* sources */
    int sources;
    double *source_X, *source_Y, *source_Z, *source_I, *source_lambda;

    /* derived */
    int steps;
    double I_bg;
    int progress_pixels;
} nb_t;

/* nb_math.c */
double nb_dot(const double *x, const double *y);
double nb_magnitude(const double *v);
double nb_unitize(const double *v, double *out);
void nb_cross(const double *x, const double *y, double *out);
void nb_scale(const double *v, double *out, double s);
void nb_rescale(const double *v, double *out, double mag);
void nb_rotate(const double *v, double *out, double rx, double ry, double rz);
void nb_rotate_axis(const double *v, double *out, const double *axis, double phi);
void nb_rotate_umat(const double *v, double *out, const double *u);
double nb_sincg(double x, double N);
double nb_sinc3(double x);
double nb_polarization(double K, double *incident, double *diffracted, double *axis);
void nb_polin3(const double *x1a, const double *x2a, const double *x3a, double ya[4][4][4],
               double x1, double x2, double x3, double *y);
int nb_toint(double x);

/* nb_rng.c */
float nb_ran1(long *idum);
void nb_random_rotation(float mosaicity, double *umat, long *seed);
void nb_umat2misset(const double *umat, double *angles);
float nb_poidev(float xm, long *idum);

/* nb_io.c */
int nb_read_hkl(nb_t *nb);
int nb_write_fdump(nb_t *nb);
int nb_read_fdump(nb_t *nb);
int nb_read_mat(nb_t *nb);
int nb_read_text_columns(const char *filename, int maxcols, double **cols, int *nlines);
int nb_read_smv_header(nb_t *nb, const char *filename, int is_mask);
int nb_write_outputs(nb_t *nb, const float *floatimage, double max_I, double rmsd);
void nb_smv_header(nb_t *nb, char *header512);

/* nb_args.c */
void nb_defaults(nb_t *nb);
int nb_prescan(nb_t *nb);
void nb_parse(nb_t *nb);
void nb_usage(void);

/* nb_setup.c */
int nb_setup(nb_t *nb);

/* nb_render.c */
int nb_render(nb_t *nb, float *floatimage, double *max_I, double *rmsd);
void nb_trace_config(nb_t *nb);

/* helpers */
void nb_die(const char *fmt, ...);

#endif
