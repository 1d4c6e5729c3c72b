/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the module's own bindgen pass binds (see Kbuild): the net headers the
 * 6.12 kernel crate does not bind, the uapi header, and the C helpers.
 */
#include <linux/net.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/poll.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/inet_common.h>
#include <net/net_namespace.h>
#include <kunit/test.h>
#include <linux/sp.h>
#include "helpers.h"
