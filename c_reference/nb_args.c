/* nb_args.c - defaults and the command-line rules of spec §1: substring matching, exact-length
 * conditions, "last one wins", unknown tokens ignored, atof/atoi semantics. */
#include "nb.h"
#include <string.h>
#include <time.h>

void nb_defaults(nb_t *nb)
{
    int i;
    memset(nb, 0, sizeof *nb);
    nb->stol_file_mult = 1e10;
    nb->dumpfilename = "Fdump.bin";
    nb->floatfilename = "floatimage.bin";
    nb->intfilename = "intimage.img";
    nb->pgmfilename = "image.pgm";
    nb->noisefilename = "noiseimage.img";
    nb->write_pgm = 1;
    nb->calculate_noise = 1;

    nb->misset_seed = -(long)time(NULL);
    nb->seed = -(long)time(NULL);
    nb->mosaic_seed = -12345678;
    nb->Na = nb->Nb = nb->Nc = 1.0;
    nb->density = 1.0e6;
    nb->molecular_weight = 18.0;
    nb->xtal_shape = SHAPE_SQUARE;
    nb->fudge = 1.0;
    nb->default_F = 0.0;
    nb->interpolate = -1;

    nb->lambda0 = 1.0e-10;
    nb->dispersion = 0.0;
    nb->dispstep = -1.0;
    nb->dispsteps = -1;
    nb->hdivrange = nb->vdivrange = -1.0;
    nb->hdivstep = nb->vdivstep = -1.0;
    nb->hdivsteps = nb->vdivsteps = -1;
    nb->round_div = 1;
    nb->polarization = 0.0;
    nb->fluence = 125932015286227086360700780544.0;
    nb->flux = 0.0;
    nb->exposure = 1.0;
    nb->beamsize = 1e-4;

    nb->pixel = 1e-4;
    nb->detsize_f = nb->detsize_s = 0.1024;
    nb->distance = 0.1;
    nb->close_distance = NAN;
    nb->Xbeam = nb->Ybeam = nb->Xclose = nb->Yclose = nb->ORGX = nb->ORGY = NAN;
    /* declaration initial values = CUSTOM fallbacks (§4.3) */
    nb->beam[1] = 1; nb->beam[2] = 0; nb->beam[3] = 0;
    nb->fdet[1] = 0; nb->fdet[2] = 0; nb->fdet[3] = 1;
    nb->sdet[1] = 0; nb->sdet[2] = -1; nb->sdet[3] = 0;
    nb->odet[1] = 1; nb->odet[2] = 0; nb->odet[3] = 0;
    nb->twotheta_axis[1] = 0; nb->twotheta_axis[2] = 1; nb->twotheta_axis[3] = 0;
    nb->polar_vector[1] = 0; nb->polar_vector[2] = 0; nb->polar_vector[3] = 1;
    nb->spindle[1] = 0; nb->spindle[2] = 0; nb->spindle[3] = 1;
    nb->detector_mu = -1.0;
    nb->detector_thick = 0.0;
    nb->detector_thickstep = -1.0;
    nb->detector_thicksteps = -1;
    nb->convention = CONV_MOSFLM;
    nb->pivot = PIVOT_BEAM;

    nb->phi0 = 0.0;
    nb->osc = -1.0;
    nb->phistep = -1.0;
    nb->phisteps = -1;
    nb->mosaic_spread = -1.0;
    nb->mosaic_domains = -1;

    nb->oversample = -1;
    nb->roi_xmin = nb->roi_xmax = nb->roi_ymin = nb->roi_ymax = -1;
    nb->dmin = 0.0;

    nb->intfile_scale = 0.0;
    nb->pgm_scale = 0.0;
    nb->adc = 40.0;
    nb->printout_fpixel = nb->printout_spixel = -1;
    nb->progress_meter = 1;
    nb->trace_s = nb->trace_f = -1;
    nb->r1_matching = 1;
    for (i = 0; i < 4; i++) nb->misset[i] = 0.0;
}

/* `-quirks MODE` (the simulator's mode syntax: c | c-r2 | spec, then ,+ID / ,-ID toggles). Only
 * C-ARGV-001 (R1 option matching) has an effect here; other ids are accepted and ignored, since this
 * program is the C. Returns 0, or -1 for a malformed mode. */
static int quirks_mode(nb_t *nb, const char *mode)
{
    const char *p = mode;
    int first = 1;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && *p == ' ') { p++; n--; }
        while (n > 0 && p[n - 1] == ' ') n--;
        if (first) {
            if (n == 1 && strncmp(p, "c", 1) == 0) nb->r1_matching = 1;
            else if ((n == 4 && strncmp(p, "c-r2", 4) == 0) || (n == 4 && strncmp(p, "spec", 4) == 0))
                nb->r1_matching = 0;
            else return -1;
        } else {
            if (n < 2 || (p[0] != '+' && p[0] != '-')) return -1;
            if (n - 1 == strlen("C-ARGV-001") && strncmp(p + 1, "C-ARGV-001", n - 1) == 0)
                nb->r1_matching = (p[0] == '+');
        }
        first = 0;
        if (end == NULL) return 0;
        p = end + 1;
    }
}

/* §1.1.1: any "-" token containing -img / -mask records the next token; also `-quirks MODE`.
 * Returns 0, or 2 (one line on stderr) for a malformed -quirks mode. */
int nb_prescan(nb_t *nb)
{
    int i;
    for (i = 1; i < nb->argc; i++) {
        const char *t = nb->argv[i];
        if (t[0] != '-') continue;
        if (strcmp(t, "-quirks") == 0 && nb->argc > i + 1 && quirks_mode(nb, nb->argv[i + 1]) != 0) {
            fprintf(stderr, "nanoBragg: bad -quirks mode '%s' (c | c-r2 | spec, then ,+ID / ,-ID)\n",
                    nb->argv[i + 1]);
            return 2;
        }
        if (strstr(t, "-img") && nb->argc > i + 1) nb->imgfilename = nb->argv[i + 1];
        if (strstr(t, "-mask") && nb->argc > i + 1) nb->maskfilename = nb->argv[i + 1];
    }
    return 0;
}

static int has(const char *t, const char *name) { return strstr(t, name) != NULL; }

#define ARG(k) (nb->argv[i + (k)])
#define NEED(k) (argc > i + (k))
#define MISSET(t) (nb->r1_matching ? has(t, "-misset") : strcmp(t, "-misset") == 0)

static void read_vec(nb_t *nb, int i, double *v)
{
    v[1] = atof(nb->argv[i + 1]);
    v[2] = atof(nb->argv[i + 2]);
    v[3] = atof(nb->argv[i + 3]);
}

void nb_parse(nb_t *nb)
{
    int argc = nb->argc;
    int i;
    for (i = 1; i < argc; i++) {
        const char *t = nb->argv[i];
        size_t len = strlen(t);
        if (t[0] != '-') continue;

        /* instrumentation (R2): slow then fast; matches no other option, ends the chain */
        if (strcmp(t, "-trace_pixel") == 0) {
            if (NEED(2)) {
                nb->trace = 1;
                nb->trace_s = atoi(ARG(1));
                nb->trace_f = atoi(ARG(2));
            }
            continue;
        }
        /* R2 only: -dump_pixel s f is a synonym of -trace_pixel (R1 reads it as -dump, below) */
        if (!nb->r1_matching && strcmp(t, "-dump_pixel") == 0) {
            if (NEED(2)) {
                nb->trace = 1;
                nb->trace_s = atoi(ARG(1));
                nb->trace_f = atoi(ARG(2));
            }
            continue;
        }

        /* conventions and pivot */
        if (has(t, "-adxv")) { nb->convention = CONV_ADXV; nb->pivot = PIVOT_BEAM; }
        if (has(t, "-mosflm")) { nb->convention = CONV_MOSFLM; nb->pivot = PIVOT_BEAM; }
        if (has(t, "-xds")) { nb->convention = CONV_XDS; nb->pivot = PIVOT_SAMPLE; }
        if (has(t, "-dials")) { nb->convention = CONV_DIALS; nb->pivot = PIVOT_SAMPLE; }
        if (has(t, "-denzo")) { nb->convention = CONV_DENZO; nb->pivot = PIVOT_BEAM; }
        if (has(t, "-fdet_vector") && NEED(3)) { nb->convention = CONV_CUSTOM; read_vec(nb, i, nb->fdet); }
        if (has(t, "-sdet_vector") && NEED(3)) { nb->convention = CONV_CUSTOM; read_vec(nb, i, nb->sdet); }
        if (has(t, "-odet_vector") && NEED(3)) { nb->convention = CONV_CUSTOM; read_vec(nb, i, nb->odet); }
        if (has(t, "-beam_vector") && NEED(3)) { nb->convention = CONV_CUSTOM; read_vec(nb, i, nb->beam); }
        if (has(t, "-polar_vector") && NEED(3)) { nb->convention = CONV_CUSTOM; read_vec(nb, i, nb->polar_vector); }
        if (has(t, "-spindle_axis") && NEED(3)) { nb->convention = CONV_CUSTOM; read_vec(nb, i, nb->spindle); }
        if (has(t, "-twotheta_axis") && NEED(3)) { nb->convention = CONV_CUSTOM; read_vec(nb, i, nb->twotheta_axis); }
        if (has(t, "-pix0_vector") && NEED(3)) { nb->convention = CONV_CUSTOM; read_vec(nb, i, nb->user_pix0); }
        if (has(t, "-distance") && NEED(1)) { nb->distance = atof(ARG(1)) / 1000.0; nb->pivot = PIVOT_BEAM; }
        if (has(t, "-close_distance") && NEED(1)) { nb->close_distance = atof(ARG(1)) / 1000.0; nb->pivot = PIVOT_SAMPLE; }
        if (has(t, "-Xbeam") && NEED(1)) { nb->Xbeam = atof(ARG(1)) / 1000.0; nb->pivot = PIVOT_BEAM; }
        if (has(t, "-Ybeam") && NEED(1)) { nb->Ybeam = atof(ARG(1)) / 1000.0; nb->pivot = PIVOT_BEAM; }
        if (has(t, "-Xclose") && NEED(1)) { nb->Xclose = atof(ARG(1)) / 1000.0; nb->pivot = PIVOT_SAMPLE; }
        if (has(t, "-Yclose") && NEED(1)) { nb->Yclose = atof(ARG(1)) / 1000.0; nb->pivot = PIVOT_SAMPLE; }
        if (has(t, "-ORGX") && NEED(1)) { nb->ORGX = atof(ARG(1)); nb->pivot = PIVOT_SAMPLE; }
        if (has(t, "-ORGY") && NEED(1)) { nb->ORGY = atof(ARG(1)); nb->pivot = PIVOT_SAMPLE; }
        if (has(t, "-pivot") && NEED(1)) {
            if (has(ARG(1), "sample")) nb->pivot = PIVOT_SAMPLE;
            if (has(ARG(1), "beam")) nb->pivot = PIVOT_BEAM;
        }
        if (has(t, "-pixel") && NEED(1)) nb->pixel = atof(ARG(1)) / 1000.0;
        if (has(t, "-detpixels") && len == 10 && NEED(1)) nb->fpixels = nb->spixels = atoi(ARG(1));
        if ((has(t, "-detpixels_f") || has(t, "-detpixels_x")) && NEED(1)) nb->fpixels = atoi(ARG(1));
        if ((has(t, "-detpixels_s") || has(t, "-detpixels_y")) && NEED(1)) nb->spixels = atoi(ARG(1));
        if (has(t, "-detsize") && len == 8 && NEED(1)) nb->detsize_f = nb->detsize_s = atof(ARG(1)) / 1000.0;
        if (has(t, "-detsize_f") && NEED(1)) nb->detsize_f = atof(ARG(1)) / 1000.0;
        if (has(t, "-detsize_s") && NEED(1)) nb->detsize_s = atof(ARG(1)) / 1000.0;
        if (has(t, "-detector_rotx") && NEED(1)) nb->detector_rotx = atof(ARG(1)) / RTD;
        if (has(t, "-detector_roty") && NEED(1)) nb->detector_roty = atof(ARG(1)) / RTD;
        if (has(t, "-detector_rotz") && NEED(1)) nb->detector_rotz = atof(ARG(1)) / RTD;
        if (has(t, "-twotheta") && NEED(1)) { nb->detector_twotheta = atof(ARG(1)) / RTD; nb->pivot = PIVOT_SAMPLE; }
        /* the original tests argc >= i+1 here and may read argv[argc]; treat that as missing */
        if (has(t, "-detector_abs") && NEED(1)) {
            if (has(ARG(1), "inf") || atof(ARG(1)) == 0.0) {
                nb->detector_thick = 0.0;
                nb->detector_mu = 0.0;
            } else {
                nb->detector_mu = 1.0 / (atof(ARG(1)) * 1e-6);
            }
        }
        if (has(t, "-detector_thick") && len == 15 && NEED(1)) nb->detector_thick = atof(ARG(1)) * 1e-6;
        if ((has(t, "-detector_thicksteps") || has(t, "-thicksteps")) && NEED(1)) nb->detector_thicksteps = atoi(ARG(1));
        if (has(t, "-curved_det") && NEED(1)) nb->curved_det = 1;
        if (has(t, "-point_pixel")) nb->point_pixel = 1;
        if (has(t, "-polar") && len == 6 && NEED(1)) { nb->polarization = atof(ARG(1)); nb->nopolar = 0; }
        if (has(t, "-nopolar")) nb->nopolar = 1;
        if (has(t, "-fluence") && NEED(1)) nb->fluence = atof(ARG(1));
        if (has(t, "-flux") && NEED(1)) nb->flux = atof(ARG(1));
        if (has(t, "-exposure") && NEED(1)) nb->exposure = atof(ARG(1));
        if (has(t, "-beamsize") && NEED(1)) nb->beamsize = atof(ARG(1)) / 1000.0;
        if ((has(t, "-lambda") || has(t, "-wave")) && NEED(1)) nb->lambda0 = atof(ARG(1)) / 1.0e10;
        if (has(t, "-energy") && NEED(1)) nb->lambda0 = (12398.42 / atof(ARG(1))) / 1.0e10;
        if (has(t, "-dispersion") && NEED(1)) nb->dispersion = atof(ARG(1)) / 100.0;
        if (has(t, "-dispsteps") && NEED(1)) nb->dispsteps = atoi(ARG(1));
        if (has(t, "-divergence") && NEED(1)) nb->hdivrange = nb->vdivrange = atof(ARG(1)) / 1000.0;
        if (has(t, "-hdivrange") && NEED(1)) nb->hdivrange = atof(ARG(1)) / 1000.0;
        if (has(t, "-vdivrange") && NEED(1)) nb->vdivrange = atof(ARG(1)) / 1000.0;
        if (has(t, "-hdivstep") && len == 9 && NEED(1)) nb->hdivstep = atof(ARG(1)) / 1000.0;
        if (has(t, "-hdivsteps") && NEED(1)) nb->hdivsteps = atoi(ARG(1));
        if (has(t, "-vdivstep") && len == 9 && NEED(1)) nb->vdivstep = atof(ARG(1)) / 1000.0;
        if (has(t, "-vdivsteps") && NEED(1)) nb->vdivsteps = atoi(ARG(1));
        if (has(t, "-divsteps") && NEED(1)) nb->hdivsteps = nb->vdivsteps = atoi(ARG(1));
        if (has(t, "-round_div")) nb->round_div = 1;
        if (has(t, "-square_div")) nb->round_div = 0;
        if (has(t, "-sourcefile") && NEED(1)) nb->sourcefilename = ARG(1);
        if (has(t, "-water") && NEED(1)) nb->water_size = atof(ARG(1)) / 1e6;
        if (has(t, "-coherent")) nb->coherent = 1;

        /* crystal */
        if (has(t, "-cell") && NEED(1)) {
            double *dst[6];
            int k;
            dst[0] = &nb->cell_a; dst[1] = &nb->cell_b; dst[2] = &nb->cell_c;
            dst[3] = &nb->alpha; dst[4] = &nb->beta; dst[5] = &nb->gamma;
            nb->user_cell = 1;
            for (k = 0; k < 6; k++) {
                if (!NEED(k + 1) || ARG(k + 1)[0] == '-') break;
                *dst[k] = atof(ARG(k + 1));
                if (k >= 3) *dst[k] /= RTD;
            }
        }
        if (has(t, "-mat") && NEED(1)) nb->matfilename = ARG(1);
        if (has(t, "-hkl") && NEED(1)) nb->hklfilename = ARG(1);
        /* R1: substring test, so -misset_seed also acts as -misset; R2: the exact token (C-ARGV-001) */
        if (MISSET(t) && NEED(1) && has(ARG(1), "rand")) {
            nb->misset[0] = -1;
            continue;
        }
        if (MISSET(t) && NEED(3)) {
            nb->misset[0] = 1;
            nb->misset[1] = atof(ARG(1)) / RTD;
            nb->misset[2] = atof(ARG(2)) / RTD;
            nb->misset[3] = atof(ARG(3)) / RTD;
        }
        if (has(t, "-misset_seed") && NEED(1)) nb->misset_seed = -atoi(ARG(1));
        if (has(t, "-mosaic_seed") && NEED(1)) nb->mosaic_seed = -atoi(ARG(1));
        if (has(t, "-seed") && NEED(1)) nb->seed = -atoi(ARG(1));
        if ((strcmp(t, "-mosaic") == 0 || has(t, "-mosaici") || has(t, "-mosaic_spr")) && NEED(1))
            nb->mosaic_spread = atof(ARG(1)) / RTD;
        if (has(t, "-mosaic_dom") && NEED(1)) nb->mosaic_domains = atoi(ARG(1));
        if (has(t, "-phi") && len == 4 && NEED(1)) nb->phi0 = atof(ARG(1)) / RTD;
        if (has(t, "-osc") && NEED(1)) nb->osc = atof(ARG(1)) / RTD;
        if (has(t, "-phistep") && len == 8 && NEED(1)) nb->phistep = atof(ARG(1)) / RTD;
        if (has(t, "-phisteps") && NEED(1)) nb->phisteps = atoi(ARG(1));
        if (has(t, "-Na") && NEED(1)) { nb->Na = atoi(ARG(1)); continue; }
        if (has(t, "-Nb") && NEED(1)) { nb->Nb = atoi(ARG(1)); continue; }
        if (has(t, "-Nc") && NEED(1)) { nb->Nc = atoi(ARG(1)); continue; }
        if (strcmp(t, "-N") == 0 && NEED(1)) { nb->Na = nb->Nb = nb->Nc = atoi(ARG(1)); continue; }
        if ((has(t, "-xtalsize") || has(t, "-xtal_size") || has(t, "-samplesize") || has(t, "-sample_size")) && NEED(1))
            nb->sample_x = nb->sample_y = nb->sample_z = atof(ARG(1)) / 1000.0;
        if ((has(t, "-xtal_thick") || has(t, "-xtal_x") || has(t, "-sample_thick") || has(t, "-sample_x")) && NEED(1))
            nb->sample_x = atof(ARG(1)) / 1000.0;
        if ((has(t, "-xtal_width") || has(t, "-xtal_y") || has(t, "-sample_width") || has(t, "-sample_y") || has(t, "-width")) && NEED(1))
            nb->sample_y = atof(ARG(1)) / 1000.0;
        if ((has(t, "-xtal_heigh") || has(t, "-xtal_z") || has(t, "-sample_heigh") || has(t, "-sample_z") || has(t, "-heigh")) && NEED(1))
            nb->sample_z = atof(ARG(1)) / 1000.0;
        if ((has(t, "-density") || has(t, "-sample_den")) && NEED(1)) nb->density = atof(ARG(1)) * 1e6;
        if ((strcmp(t, "-MW") == 0 || has(t, "-molec")) && NEED(1)) nb->molecular_weight = atof(ARG(1));
        if (has(t, "-square_xtal")) nb->xtal_shape = SHAPE_SQUARE;
        if (has(t, "-round_xtal")) nb->xtal_shape = SHAPE_ROUND;
        if (has(t, "-gauss_xtal")) nb->xtal_shape = SHAPE_GAUSS;
        if (has(t, "-binary_spots") || has(t, "-tophat_spots")) nb->xtal_shape = SHAPE_TOPHAT;
        if (has(t, "-fudge") && NEED(1)) nb->fudge = atof(ARG(1));
        if (has(t, "-default_F") && NEED(1)) nb->default_F = atof(ARG(1));
        if (nb->r1_matching && has(t, "-dump") && NEED(1)) nb->dumpfilename = ARG(1); /* R1 only */
        if (has(t, "-nointerpolate")) nb->interpolate = 0;
        if (has(t, "-interpolate")) nb->interpolate = 1;

        /* sampling */
        if (has(t, "-oversample_thick")) { nb->oversample_thick = 1; continue; }
        if (has(t, "-oversample_polar")) { nb->oversample_polar = 1; continue; }
        if (has(t, "-oversample_omega")) { nb->oversample_omega = 1; continue; }
        if (has(t, "-oversample") && NEED(1)) nb->oversample = atoi(ARG(1));
        if (has(t, "-roi") && NEED(4)) {
            nb->roi_xmin = atoi(ARG(1));
            nb->roi_xmax = atoi(ARG(2));
            nb->roi_ymin = atoi(ARG(3));
            nb->roi_ymax = atoi(ARG(4));
        }
        if (has(t, "-dmin") && NEED(1)) nb->dmin = atof(ARG(1)) * 1e-10;

        /* outputs */
        if ((has(t, "-floatfile") || has(t, "-floatimage")) && NEED(1)) nb->floatfilename = ARG(1);
        if ((has(t, "-intfile") || has(t, "-intimage")) && NEED(1)) nb->intfilename = ARG(1);
        if ((has(t, "-pgmfile") || has(t, "-pgmimage")) && NEED(1)) { nb->pgmfilename = ARG(1); nb->write_pgm = 1; }
        if ((has(t, "-noisefile") || has(t, "-noiseimage")) && NEED(1)) { nb->noisefilename = ARG(1); nb->calculate_noise = 1; }
        if (has(t, "-nonoise")) nb->calculate_noise = 0;
        if (has(t, "-nopgm")) nb->write_pgm = 0;
        if (has(t, "-scale") && NEED(1)) nb->intfile_scale = atof(ARG(1));
        if (has(t, "-pgmscale") && NEED(1)) { nb->pgm_scale = atof(ARG(1)); nb->write_pgm = 1; }
        if (has(t, "-adc") && NEED(1)) nb->adc = atof(ARG(1));
        if (has(t, "-stolout") && len > 7 && NEED(1)) { /* stored, never written */ }
        if (has(t, "-stol") && len == 5 && NEED(1)) { nb->stolfilename = ARG(1); nb->stol_file_mult = 1e10; }
        if (has(t, "-4stol") && len == 6 && NEED(1)) { nb->stolfilename = ARG(1); nb->stol_file_mult = 1e10 / 4; }
        if (has(t, "-Q") && len == 2 && NEED(1)) { nb->stolfilename = ARG(1); nb->stol_file_mult = 1e10 / M_PI / 4; }
        if (has(t, "-printout")) nb->printout = 1;
        if (has(t, "-printout_pixel") && NEED(2)) {
            nb->printout_fpixel = atoi(ARG(1));
            nb->printout_spixel = atoi(ARG(2));
        }
        if (has(t, "-noprogress")) nb->progress_meter = 0;
        if (has(t, "-progress")) nb->progress_meter = 1;
    }
}

void nb_usage(void)
{
    printf("usage: nanoBragg -mat auto.mat -hkl Fs.hkl\n");
    printf("options:\n");
    printf("\t-mat filename.mat\tmosflm-style matrix file containing three reciprocal unit cell vectors\n");
    printf("\t-cell a b c al be ga\tspecify unit cell dimensions (Angstrom and degrees)\n");
    printf("\t-hkl filename.hkl\ttext file containing h, k, l and F for P1 unit cell\n");
    printf("\t-default_F\tstructure factor for reflections not in the hkl file\n");
    printf("\t-N\tnumber of unit cells in all directions\n");
    printf("\t-lambda\twavelength in Angstrom\n");
    printf("\t-distance\tdistance from origin to detector center in mm\n");
    printf("\t-pixel\tdetector pixel size in mm\n");
    printf("\t-detpixels\tnumber of pixels along each detector edge\n");
    printf("\t-oversample\tnumber of sub-pixels per pixel edge\n");
    printf("\t-floatfile\tname of binary output file (4-byte floats)\n");
    printf("\t-intfile\tname of smv-formatted output file\n");
    printf("\t-trace_pixel s f\tprint the trace of pixel slow s, fast f\n");
    printf("\t-quirks MODE\tc (default: R1 option matching) or c-r2 / c,-C-ARGV-001 (R2 matching)\n");
}
