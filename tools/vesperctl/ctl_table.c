/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesperctl/ctl_table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ctl_table_init(struct ctl_table *t, size_t n_cols,
                    const char *const *headers, const char *align)
{
    memset(t, 0, sizeof(*t));
    t->n_cols = n_cols;
    t->headers = headers;
    t->align = align;
}

int ctl_table_add_row(struct ctl_table *t, const char *const *cells)
{
    char **row;

    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
        char **grown;

        if (cap > SIZE_MAX / sizeof(char *) / (t->n_cols ? t->n_cols : 1))
            return -ENOMEM;
        grown = realloc(t->cells, cap * t->n_cols * sizeof(char *));
        if (!grown)
            return -ENOMEM;
        t->cells = grown;
        t->cap_rows = cap;
    }
    row = t->cells + t->n_rows * t->n_cols;
    for (size_t c = 0; c < t->n_cols; c++) {
        row[c] = strdup(cells[c] ? cells[c] : "-");
        if (!row[c]) {
            while (c-- > 0)
                free(row[c]);
            return -ENOMEM;
        }
    }
    t->n_rows++;
    return 0;
}

static void print_line(const struct ctl_table *t, const char *const *cells,
                       const size_t *widths, FILE *f)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        bool last = c + 1 == t->n_cols;
        int w = (int)widths[c];

        if (c > 0)
            fputs("  ", f);
        if (t->align[c] == 'r')
            fprintf(f, "%*s", w, cells[c]);
        else if (last)
            fputs(cells[c], f);
        else
            fprintf(f, "%-*s", w, cells[c]);
    }
    fputc('\n', f);
}

void ctl_table_print(const struct ctl_table *t, FILE *f)
{
    size_t *widths = calloc(t->n_cols ? t->n_cols : 1, sizeof(*widths));

    if (!widths)
        return;
    for (size_t c = 0; c < t->n_cols; c++) {
        widths[c] = strlen(t->headers[c]);
        for (size_t r = 0; r < t->n_rows; r++) {
            size_t n = strlen(t->cells[r * t->n_cols + c]);
            if (n > widths[c])
                widths[c] = n;
        }
    }
    print_line(t, t->headers, widths, f);
    for (size_t r = 0; r < t->n_rows; r++)
        print_line(t, (const char *const *)(t->cells + r * t->n_cols), widths,
                   f);
    free(widths);
}

void ctl_table_free(struct ctl_table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->n_rows = 0;
    t->cap_rows = 0;
}
