/* kars: the umbrella header. Includes every public header of libkars. The mesh, which links
 * GPL-3.0 code and lives in libkars-mesh, is declared separately in kars/mesh.h. */
#ifndef KARS_KARS_H
#define KARS_KARS_H

#include "kars/common.h"
#include "kars/audit.h"
#include "kars/policy.h"
#include "kars/broker.h"

#endif /* KARS_KARS_H */
