/* dashboard.c: lookup of the embedded dashboard files. */
#include "dashboard.h"

#include <string.h>

const aw_dashboard_asset *aw_dashboard_find(const char *path)
{
    if (!path || !strcmp(path, "/"))
        path = "/index.html";
    for (const aw_dashboard_asset *a = aw_dashboard_assets; a->path; a++)
        if (!strcmp(a->path, path))
            return a;
    return NULL;
}
