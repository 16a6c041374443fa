/* SPDX-License-Identifier: BSD-3-Clause */
/* vesperctl — command-line client of vesperd (see docs/cli.md). */
#include "tools/vesperctl/vesperctl.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    int rc = vesperctl_main(argc, argv, stdout, stderr);

    if (fflush(stdout) != 0 && rc == 0)
        rc = 1;
    return rc;
}
