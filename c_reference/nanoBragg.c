/* nanoBragg.c - entry point of the clean-room C reference of nanoBragg (spec R1 behaviour,
 * plus R2's -trace_pixel). Serial and deterministic: no OpenMP.
 * Order of work: defaults, pre-scan for -img/-mask, header ingestion (mask first, then img),
 * option parsing, derivation (§1.14), pixel loop, statistics and output files (§9). */
#include "nb.h"

int main(int argc, char **argv)
{
    static nb_t nb;
    float *floatimage;
    double max_I = 0.0, rmsd = 0.0;
    int rc;

    nb_defaults(&nb);
    nb.argc = argc;
    nb.argv = argv;
    rc = nb_prescan(&nb);
    if (rc) return rc;
    if (nb.maskfilename != NULL) {
        rc = nb_read_smv_header(&nb, nb.maskfilename, 1);
        if (rc) return rc;
    }
    if (nb.imgfilename != NULL) {
        rc = nb_read_smv_header(&nb, nb.imgfilename, 0);
        if (rc) return rc;
    }
    nb_parse(&nb);

    rc = nb_setup(&nb);
    if (rc) {
        fflush(stdout);
        return rc;
    }

    floatimage = calloc((size_t)nb.pixels, sizeof(float));
    if (floatimage == NULL) {
        fprintf(stderr, "nanoBragg: cannot allocate the image (%d pixels)\n", nb.pixels);
        return 9;
    }
    nb_render(&nb, floatimage, &max_I, &rmsd);
    rc = nb_write_outputs(&nb, floatimage, max_I, rmsd);
    free(floatimage);
    return rc;
}
