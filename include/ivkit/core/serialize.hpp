/// @file
/// Deprecated: the American spelling of ivkit/core/serialise.hpp, kept for one release
/// (docs/conventions.md, "Spelling").
#pragma once

#include "ivkit/core/serialise.hpp"
