/* nb_io.c - input readers (HKL §2.1, Fdump §2.2, MOSFLM matrix §2.3, text columns §2.4,
 * SMV header/mask §2.6) and the output writers of §9. */
#include "nb.h"
#include <string.h>
#include <stdarg.h>

static size_t grid_index(const nb_t *nb, int h, int k, int l)
{
    return ((size_t)h * (size_t)(nb->k_range + 1) + (size_t)k) * (size_t)(nb->l_range + 1) + (size_t)l;
}

static int alloc_grid(nb_t *nb)
{
    size_t n;
    double nd = ((double)nb->h_range + 1) * ((double)nb->k_range + 1) * ((double)nb->l_range + 1);
    if (nd > 1e9) {
        fprintf(stderr, "nanoBragg: HKL index ranges too large for a grid (%g cells)\n", nd);
        return 9;
    }
    n = (size_t)(nb->h_range + 1) * (size_t)(nb->k_range + 1) * (size_t)(nb->l_range + 1);
    nb->Fhkl = calloc(n ? n : 1, sizeof(double));
    if (nb->Fhkl == NULL) {
        fprintf(stderr, "nanoBragg: cannot allocate the structure-factor grid (%lu doubles)\n", (unsigned long)n);
        return 9;
    }
    return 0;
}

/* range = max - min + 1 per axis; 0 when negative or beyond int (never overflows) */
static int set_ranges(nb_t *nb)
{
    long rh = (long)nb->h_max - nb->h_min + 1, rk = (long)nb->k_max - nb->k_min + 1, rl = (long)nb->l_max - nb->l_min + 1;
    if (rh < 0 || rk < 0 || rl < 0 || rh > 100000000L || rk > 100000000L || rl > 100000000L) {
        nb->h_range = (int)(rh < 0 ? -1 : rh > 100000000L ? 100000000L : rh);
        nb->k_range = (int)(rk < 0 ? -1 : rk > 100000000L ? 100000000L : rk);
        nb->l_range = (int)(rl < 0 ? -1 : rl > 100000000L ? 100000000L : rl);
        return 0;
    }
    nb->h_range = (int)rh;
    nb->k_range = (int)rk;
    nb->l_range = (int)rl;
    return 1;
}

/* text HKL: a stream of (h,k,l,F) groups; two passes (§2.1) */
int nb_read_hkl(nb_t *nb)
{
    FILE *f;
    double h, k, l, F;
    int ih, ik, il, i, n2;
    printf("counting entries in %s\n", nb->hklfilename);
    f = fopen(nb->hklfilename, "r");
    if (f == NULL) {
        fprintf(stderr, "nanoBragg: cannot open -hkl file %s\n", nb->hklfilename);
        return 9;
    }
    nb->h_min = nb->k_min = nb->l_min = 1000000000;
    nb->h_max = nb->k_max = nb->l_max = -1000000000;
    nb->hkls = 0;
    while (4 == fscanf(f, "%lg%lg%lg%lg", &h, &k, &l, &F)) {
        if (h != ceil(h - 0.4) || k != ceil(k - 0.4) || l != ceil(l - 0.4)) {
            printf("WARNING: non-integer value for h (%g) or k (%g) or l (%g)\n", h, k, l);
        }
        /* int variables compared with and assigned from doubles (truncation) */
        if (nb->h_min > h) nb->h_min = nb_toint(h);
        if (nb->k_min > k) nb->k_min = nb_toint(k);
        if (nb->l_min > l) nb->l_min = nb_toint(l);
        if (nb->h_max < h) nb->h_max = nb_toint(h);
        if (nb->k_max < k) nb->k_max = nb_toint(k);
        if (nb->l_max < l) nb->l_max = nb_toint(l);
        ++nb->hkls;
    }
    if (!set_ranges(nb)) {
        printf("h: %d - %d\n", nb->h_min, nb->h_max);
        printf("k: %d - %d\n", nb->k_min, nb->k_max);
        printf("l: %d - %d\n", nb->l_min, nb->l_max);
        printf("ERROR: not enough HKL indices in %s\n", nb->hklfilename);
        fprintf(stderr, "nanoBragg: -hkl file %s gave no usable (h k l F) groups (%d read; index ranges empty or too large)\n", nb->hklfilename, nb->hkls);
        fclose(f);
        return 9;
    }
    printf("re-reading %s\n", nb->hklfilename);
    if (alloc_grid(nb)) {
        fclose(f);
        return 9;
    }
    if (nb->default_F != 0.0) {
        int a, b, c;
        for (a = 0; a < nb->h_range; a++)
            for (b = 0; b < nb->k_range; b++)
                for (c = 0; c < nb->l_range; c++) nb->Fhkl[grid_index(nb, a, b, c)] = nb->default_F;
    }
    rewind(f);
    n2 = 0;
    while (4 == fscanf(f, "%d%d%d%lg", &ih, &ik, &il, &F)) {
        /* pass 2 can drift from pass 1 on decimal indices; never write outside the grid */
        long dh = (long)ih - nb->h_min, dk = (long)ik - nb->k_min, dl = (long)il - nb->l_min;
        if (dh >= 0 && dh <= nb->h_range && dk >= 0 && dk <= nb->k_range && dl >= 0 && dl <= nb->l_range)
            nb->Fhkl[grid_index(nb, (int)dh, (int)dk, (int)dl)] = F;
        ++n2;
        if (n2 >= nb->hkls) break;
    }
    fclose(f);
    (void)i;
    return 0;
}

int nb_write_fdump(nb_t *nb)
{
    FILE *f;
    int h, k;
    printf("writing dump file for next time: %s\n", nb->dumpfilename);
    f = fopen(nb->dumpfilename, "wb");
    if (f == NULL) {
        printf("WARNING: unable to open dump file: %s\n", nb->dumpfilename);
        return 0;
    }
    fprintf(f, "%d %d %d %d %d %d\n\f", nb->h_min, nb->h_max, nb->k_min, nb->k_max, nb->l_min, nb->l_max);
    for (h = 0; h <= nb->h_range; h++)
        for (k = 0; k <= nb->k_range; k++)
            fwrite(nb->Fhkl + grid_index(nb, h, k, 0), sizeof(double), (size_t)(nb->l_range + 1), f);
    fclose(f);
    return 0;
}

int nb_read_fdump(nb_t *nb)
{
    FILE *f;
    int h, k;
    printf("reading Fs from %s\n", nb->dumpfilename);
    f = fopen(nb->dumpfilename, "rb");
    if (f == NULL) {
        fprintf(stderr, "nanoBragg: cannot open dump file %s\n", nb->dumpfilename);
        return 9;
    }
    /* same scanf format as the original: "\n\f" skips any whitespace */
    if (6 != fscanf(f, "%d%d%d%d%d%d\n\f", &nb->h_min, &nb->h_max, &nb->k_min, &nb->k_max, &nb->l_min, &nb->l_max)) {
        fprintf(stderr, "nanoBragg: dump file %s has no valid header\n", nb->dumpfilename);
        fclose(f);
        return 9;
    }
    if (!set_ranges(nb)) {
        fprintf(stderr, "nanoBragg: dump file %s has negative or huge index ranges\n", nb->dumpfilename);
        fclose(f);
        return 9;
    }
    if (alloc_grid(nb)) {
        fclose(f);
        return 9;
    }
    for (h = 0; h <= nb->h_range; h++)
        for (k = 0; k <= nb->k_range; k++)
            if ((size_t)(nb->l_range + 1) != fread(nb->Fhkl + grid_index(nb, h, k, 0), sizeof(double), (size_t)(nb->l_range + 1), f)) {
                /* a short file leaves zeros: still no crash */
                h = nb->h_range + 1;
                break;
            }
    fclose(f);
    nb->hkls = nb->h_range * nb->k_range * nb->l_range;
    return 0;
}

/* first nine numbers = columns a*, b*, c*; unreadable file is silent in the original */
int nb_read_mat(nb_t *nb)
{
    FILE *f = fopen(nb->matfilename, "r");
    int r, n = 0;
    if (f == NULL) {
        fprintf(stderr, "nanoBragg: WARNING: cannot open -mat file %s; continuing with a zero matrix as the original does\n",
                nb->matfilename);
        return 0;
    }
    printf("reading %s\n", nb->matfilename);
    for (r = 1; r <= 3; r++) {
        n += fscanf(f, "%lg%lg%lg", nb->a_star + r, nb->b_star + r, nb->c_star + r) == 3;
    }
    fclose(f);
    if (n != 3) fprintf(stderr, "nanoBragg: WARNING: -mat file %s holds fewer than nine numbers\n", nb->matfilename);
    return 0;
}

/* Generic column reader (§2.4): lines of separators only (then newline) are skipped, every other
 * line is a record; fields split on " \t,;:!", converted with atof; absent columns are NaN. */
int nb_read_text_columns(const char *filename, int maxcols, double **cols, int *nlines)
{
    static char text[10000];
    const char *seps = " \t,;:!";
    FILE *f = fopen(filename, "r");
    int lines = 0, i, j;
    *nlines = 0;
    for (j = 0; j < maxcols; j++) cols[j] = NULL;
    if (f == NULL) return -1;
    while (fgets(text, sizeof text, f) != NULL) {
        char *tok = text + strspn(text, seps);
        if (strcmp(tok, "\n") == 0) continue;
        ++lines;
    }
    if (lines == 0) {
        fclose(f);
        return 0;
    }
    for (j = 0; j < maxcols; j++) {
        cols[j] = malloc(sizeof(double) * (size_t)lines);
        if (cols[j] == NULL) {
            fclose(f);
            return -1;
        }
        for (i = 0; i < lines; i++) cols[j][i] = NAN;
    }
    rewind(f);
    i = 0;
    while (i < lines && fgets(text, sizeof text, f) != NULL) {
        char *tok = text + strspn(text, seps);
        if (strcmp(tok, "\n") == 0) continue;
        tok = strtok(text, seps);
        for (j = 0; j < maxcols && tok != NULL; j++) {
            cols[j][i] = atof(tok);
            tok = strtok(NULL, seps);
        }
        ++i;
    }
    fclose(f);
    *nlines = lines;
    return 0;
}

/* last occurrence of key anywhere in the header, atof after the next '=' (§2.6) */
static double header_value(const char *header, const char *key)
{
    const char *p = header, *last = NULL, *eq;
    size_t kl = strlen(key);
    while ((p = strstr(p, key)) != NULL) {
        last = p;
        p += 1;
    }
    if (last == NULL) return NAN;
    eq = strchr(last + kl, '=');
    if (eq == NULL) return NAN;
    return atof(eq + 1);
}

int nb_read_smv_header(nb_t *nb, const char *filename, int is_mask)
{
    FILE *f = fopen(filename, "rb");
    char *header;
    size_t got;
    long header_bytes = 512;
    double v;
    if (f == NULL) {
        fprintf(stderr, "nanoBragg: cannot open %s file %s\n", is_mask ? "-mask" : "-img", filename);
        return 9;
    }
    header = calloc(513, 1);
    if (header == NULL) {
        fclose(f);
        return 9;
    }
    got = fread(header, 1, 512, f);
    if (got < 12 || strncmp(header, "{\nHEADER_BYT", 12) != 0) {
        printf("WARNING: %s does not look like an ADSC frame!\n", filename);
        free(header);
        fclose(f);
        return 0;
    }
    v = header_value(header, "HEADER_BYTES");
    if (!isnan(v) && v > 0 && v < 1e8) header_bytes = (long)v; /* data offset */
    if (header_bytes > 512) {
        char *big;
        big = calloc((size_t)header_bytes + 1, 1);
        if (big == NULL) {
            free(header);
            fclose(f);
            return 9;
        }
        rewind(f);
        got = fread(big, 1, (size_t)header_bytes, f);
        free(header);
        header = big;
    }
    printf("importing header from %s\n", filename);

    v = header_value(header, "SIZE1");
    if (!isnan(v)) {
        nb->fpixels = (int)v;
        v = header_value(header, "SIZE2");
        if (!isnan(v)) nb->spixels = (int)v;
    } else {
        v = header_value(header, "DETECTOR_DIMENSIONS");
        if (!isnan(v)) nb->fpixels = nb->spixels = (int)v;
    }
    v = header_value(header, "PIXEL_SIZE");
    if (!isnan(v)) nb->pixel = v / 1000.0;
    nb->detsize_f = nb->pixel * nb->fpixels;
    nb->detsize_s = nb->pixel * nb->spixels;
    v = header_value(header, "DISTANCE");
    if (!isnan(v)) nb->distance = v / 1000.0;
    v = header_value(header, "CLOSE_DISTANCE");
    if (!isnan(v)) nb->close_distance = v / 1000.0;
    v = header_value(header, "WAVELENGTH");
    if (!isnan(v)) nb->lambda0 = v / 1e10;
    v = header_value(header, "BEAM_CENTER_X");
    if (!isnan(v)) nb->Xbeam = v / 1000.0;
    v = header_value(header, "BEAM_CENTER_Y");
    if (!isnan(v)) {
        if (is_mask) nb->Ybeam = nb->detsize_s - v / 1000.0;
        else nb->Ybeam = v / 1000.0;
    }
    v = header_value(header, "ORGX");
    if (!isnan(v)) nb->ORGX = v;
    v = header_value(header, "ORGY");
    if (!isnan(v)) nb->ORGY = v;
    v = header_value(header, "PHI");
    if (!isnan(v)) nb->phi0 = v / RTD;
    v = header_value(header, "OSC_RANGE");
    if (!isnan(v)) nb->osc = v / RTD;
    /* TWOTHETA is read into a scratch variable by the original and never used */

    if (is_mask) {
        long n = (long)nb->fpixels * (long)nb->spixels;
        if (n > 0 && n < 400000000L) {
            unsigned short *m = calloc((size_t)n, sizeof(unsigned short));
            if (m == NULL) {
                free(header);
                fclose(f);
                return 9;
            }
            if (fseek(f, header_bytes, SEEK_SET) == 0) {
                size_t r = fread(m, sizeof(unsigned short), (size_t)n, f);
                (void)r; /* a short file leaves zeros (masked), like unread memory would not: no crash */
            }
            free(nb->maskimage);
            nb->maskimage = m;
            nb->mask_n = n;
        }
    }
    free(header);
    fclose(f);
    (void)got;
    return 0;
}

void nb_smv_header(nb_t *nb, char *h)
{
    int n;
    unsigned int one = 1;
    const char *order = (*(unsigned char *)&one == 1) ? "little_endian" : "big_endian";
    n = snprintf(h, 513,
                 "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=%s;\nTYPE=unsigned_short;\n"
                 "SIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\nDISTANCE=%g;\n"
                 "WAVELENGTH=%g;\nBEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\n"
                 "ADXV_CENTER_X=%g;\nADXV_CENTER_Y=%g;\n"
                 "MOSFLM_CENTER_X=%g;\nMOSFLM_CENTER_Y=%g;\n"
                 "DENZO_X_BEAM=%g;\nDENZO_Y_BEAM=%g;\n"
                 "DIALS_ORIGIN=%g,%g,%g\n"
                 "XDS_ORGX=%g;\nXDS_ORGY=%g;\n"
                 "CLOSE_DISTANCE=%g;\nPHI=%g;\nOSC_START=%g;\nOSC_RANGE=%g;\nTWOTHETA=%g;\n"
                 "DETECTOR_SN=000;\nBEAMLINE=fake;\n}\f",
                 order, nb->fpixels, nb->spixels, nb->pixel * 1000.0, nb->distance * 1000.0,
                 nb->lambda0 * 1e10, nb->Xbeam * 1000.0, nb->Ybeam * 1000.0,
                 nb->Fbeam * 1000.0, (nb->detsize_s - nb->Sbeam) * 1000.0,
                 (nb->Sbeam - nb->pixel / 2.0) * 1000.0, (nb->Fbeam - nb->pixel / 2.0) * 1000.0,
                 nb->Sbeam * 1000.0, nb->Fbeam * 1000.0,
                 nb->dials_origin[1], nb->dials_origin[2], nb->dials_origin[3],
                 nb->ORGX, nb->ORGY,
                 nb->close_distance * 1000.0, nb->phi0 * RTD, nb->phi0 * RTD, nb->osc * RTD,
                 nb->detector_twotheta * RTD);
    if (n < 0) n = 0;
    if (n > 512) n = 512;
    while (n < 512) h[n++] = ' ';
    h[512] = '\0';
}

static int in_roi(const nb_t *nb, int fp, int sp)
{
    return !(fp < nb->roi_xmin || fp > nb->roi_xmax || sp < nb->roi_ymin || sp > nb->roi_ymax);
}

static int write_smv(nb_t *nb, const char *name, const unsigned short *data)
{
    char header[513];
    FILE *f = fopen(name, "wb");
    if (f == NULL) {
        fprintf(stderr, "nanoBragg: cannot open output file %s\n", name);
        return 9;
    }
    nb_smv_header(nb, header);
    fwrite(header, 1, 512, f);
    fwrite(data, sizeof(unsigned short), (size_t)nb->pixels, f);
    fclose(f);
    return 0;
}

int nb_write_outputs(nb_t *nb, const float *floatimage, double max_I, double rmsd)
{
    FILE *f;
    unsigned short *img;
    int fp, sp;
    long j;
    size_t n = (size_t)nb->pixels;

    printf("writing %s as %d %lu-byte floats\n", nb->floatfilename, nb->pixels, (unsigned long)sizeof(float));
    f = fopen(nb->floatfilename, "wb");
    if (f == NULL) {
        fprintf(stderr, "nanoBragg: cannot open output file %s\n", nb->floatfilename);
        return 9;
    }
    fwrite(floatimage, sizeof(float), n, f);
    fclose(f);

    if (nb->intfile_scale <= 0.0) {
        nb->intfile_scale = 1.0;
        if (max_I > 0.0) nb->intfile_scale = 55000.0 / max_I;
    }
    printf("intfile_scale = %g\n", nb->intfile_scale);
    img = calloc(n ? n : 1, sizeof(unsigned short));
    if (img == NULL) return 9;
    j = 0;
    for (sp = 0; sp < nb->spixels; sp++)
        for (fp = 0; fp < nb->fpixels; fp++, j++) {
            double test;
            if (!in_roi(nb, fp, sp)) continue;
            test = floatimage[j] * nb->intfile_scale + nb->adc;
            if (test > 65535.0) test = 65535.0;
            if (test < 0.0) test = 0.0;
            img[j] = (unsigned short)nb_toint(floorf((float)(test + 0.5))); /* via int: NaN-safe, same bits */
        }
    printf("writing %s as %lu-byte integers\n", nb->intfilename, (unsigned long)sizeof(unsigned short));
    if (write_smv(nb, nb->intfilename, img)) {
        free(img);
        return 9;
    }

    if (nb->write_pgm) {
        unsigned char *pgm = calloc(n ? n : 1, 1);
        if (pgm == NULL) {
            free(img);
            return 9;
        }
        if (nb->pgm_scale <= 0.0) {
            nb->pgm_scale = nb->intfile_scale;
            if (rmsd > 0.0) nb->pgm_scale = 250.0 / (5.0 * rmsd);
        }
        printf("writing %s as %lu-byte integers\n", nb->pgmfilename, (unsigned long)sizeof(unsigned char));
        j = 0;
        for (sp = 0; sp < nb->spixels; sp++)
            for (fp = 0; fp < nb->fpixels; fp++, j++) {
                double test;
                if (!in_roi(nb, fp, sp)) continue;
                test = floatimage[j] * nb->pgm_scale;
                if (test > 255.0) test = 255.0;
                /* intensities are never negative; go through int so NaN cannot trap UBSan */
                pgm[j] = (unsigned char)nb_toint(test);
            }
        f = fopen(nb->pgmfilename, "wb");
        if (f == NULL) {
            fprintf(stderr, "nanoBragg: cannot open output file %s\n", nb->pgmfilename);
            free(pgm);
            free(img);
            return 9;
        }
        fprintf(f, "P5\n%d %d\n", nb->fpixels, nb->spixels);
        fprintf(f, "# pixels scaled by %g\n", nb->pgm_scale);
        fprintf(f, "255\n");
        fwrite(pgm, 1, n, f);
        fclose(f);
        free(pgm);
    }

    if (nb->calculate_noise) {
        double sum = 0.0;
        int overloads = 0;
        memset(img, 0, (n ? n : 1) * sizeof(unsigned short));
        j = 0;
        for (sp = 0; sp < nb->spixels; sp++)
            for (fp = 0; fp < nb->fpixels; fp++, j++) {
                double test;
                if (!in_roi(nb, fp, sp)) continue;
                test = nb_poidev(floatimage[j], &nb->seed);
                sum += test;
                test += nb->adc;
                if (test > 65535.0) {
                    test = 65535.0;
                    ++overloads;
                }
                img[j] = (unsigned short)nb_toint(test);
            }
        printf("%.0f photons on noise image (%d overloads)\n", sum, overloads);
        printf("writing %s as %lu-byte integers\n", nb->noisefilename, (unsigned long)sizeof(unsigned short));
        if (write_smv(nb, nb->noisefilename, img)) {
            free(img);
            return 9;
        }
    }
    free(img);
    return 0;
}

void nb_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nanoBragg: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(9);
}
