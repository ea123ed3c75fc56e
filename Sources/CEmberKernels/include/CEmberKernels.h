#ifndef CEMBER_KERNELS_H
#define CEMBER_KERNELS_H

// Hot loops that Swift cannot compile for wider vector units than the x86-64 baseline (SwiftPM
// forbids -march flags in a library). Each kernel family has per-ISA variants built with
// __attribute__((target(...))); callers pick one with ember_cpu_level().

#include "EmberCPU.h"
#include "EmberArithmetic.h"
#include "EmberClamp.h"
#include "EmberColumnSums.h"
#include "EmberCompare.h"
#include "EmberCopy.h"
#include "EmberHalf.h"
#include "EmberRandom.h"
#include "EmberGEMM.h"
#include "EmberRowSums.h"
#include "EmberSelect.h"
#include "EmberVectorMath.h"

#endif
