/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_table.h — aligned text tables for vesperctl's human output.
 *
 * Columns are separated by two spaces; each column is as wide as its widest
 * cell or header.  Left-aligned columns hold names, right-aligned ones hold
 * numbers; the last column is never padded (no trailing blanks).  Headers
 * are printed as given (the callers use capitals, like `ovs-appctl
 * fdb/show`).  Cells are copied; widths count bytes, which is right for the
 * ASCII names, MACs and numbers vesperctl prints.
 *
 * Thread-safety: a table belongs to its caller.
 */
#ifndef CTL_TABLE_H
#define CTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct ctl_table {
    size_t n_cols;
    const char *const *headers; /* n_cols headers, not copied */
    const char *align;          /* n_cols of 'l' or 'r', not copied */
    char **cells;               /* n_rows * n_cols copies, row-major */
    size_t n_rows;
    size_t cap_rows;
};

/* Starts an empty table.  headers and align must outlive it. */
void ctl_table_init(struct ctl_table *t, size_t n_cols,
                    const char *const *headers, const char *align);

/* Appends a row of n_cols cells (NULL prints as "-").  Returns 0 or
 * -ENOMEM (the table is unchanged). */
int ctl_table_add_row(struct ctl_table *t, const char *const *cells);

/* Prints the header line and every row. */
void ctl_table_print(const struct ctl_table *t, FILE *f);

/* Frees the rows; the table may be reused after ctl_table_init(). */
void ctl_table_free(struct ctl_table *t);

#endif /* CTL_TABLE_H */
