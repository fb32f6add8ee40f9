// cpp-httplib (Debian's libcpp-httplib-dev) as the server includes it: every file of serve/ includes
// this header instead of <httplib.h>, so the settings below are the same in each (its functions are
// inline). The listen backlog: cpp-httplib's default of 5 pending connections overflowed under 64
// clients opening connections at once on a busy 2-core machine (the kernel logged "Possible SYN
// flooding" and 17 of 1000 requests were reset: docs/serve.md); the kernel's own maximum
// (SOMAXCONN, capped by net.core.somaxconn) lets the accept thread catch up instead.
#pragma once

#include <sys/socket.h>

#define CPPHTTPLIB_LISTEN_BACKLOG SOMAXCONN
#include <httplib.h>
