// Flags shared by the commands that run a model (generate, serve): the
// attention policy and the sampler's defaults, registered once.
#pragma once

#include "CLI/CLI.hpp"
#include "src/engine/policy_flags.h"
#include "src/engine/sampler.h"

namespace quest {

void AddPolicyFlags(CLI::App* app, PolicyFlags* f);
void AddSamplerFlags(CLI::App* app, SamplerOptions* s);

}  // namespace quest
