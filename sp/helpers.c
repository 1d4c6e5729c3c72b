// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of sp.ko: see helpers.h.  Each is a wrapper for a static inline
 * or a macro, so that the Rust side calls the kernel's own code.
 */
#include <linux/build_bug.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/sp.h>
#include <net/proto_memory.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "helpers.h"

int sp_family = AF_SP;
module_param_named(family, sp_family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register (default AF_SP, 18)");

/* The uapi constants must fit the limits the socket core enforces. */
static_assert(AF_SP < AF_MAX);
static_assert(SOCK_PUB < SOCK_MAX && SOCK_SUB < SOCK_MAX);
static_assert(SOCK_REQ < SOCK_MAX && SOCK_REP < SOCK_MAX);
static_assert(SOCK_PAIR < SOCK_MAX && SOCK_PUSH < SOCK_MAX && SOCK_PULL < SOCK_MAX);
static_assert(SOCK_SURVEYOR < SOCK_MAX && SOCK_RESPONDENT < SOCK_MAX && SOCK_BUS < SOCK_MAX);
static_assert(offsetof(struct sp_sk, sk) == 0);

void sp_spin_lock_bh(spinlock_t *lock)
{
	spin_lock_bh(lock);
}

void sp_spin_unlock_bh(spinlock_t *lock)
{
	spin_unlock_bh(lock);
}

void sp_sock_hold(struct sock *sk)
{
	sock_hold(sk);
}

void sp_sock_put(struct sock *sk)
{
	sock_put(sk);
}

void sp_sock_orphan(struct sock *sk)
{
	sock_orphan(sk);
}

void sp_lock_sock(struct sock *sk)
{
	lock_sock(sk);
}

struct net *sp_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

int sp_sk_state(const struct sock *sk)
{
	return READ_ONCE(sk->sk_state);
}

void sp_sk_set_state(struct sock *sk, int state)
{
	WRITE_ONCE(sk->sk_state, state);
}

int sp_sk_sndbuf(const struct sock *sk)
{
	return READ_ONCE(sk->sk_sndbuf);
}

/* SO_SNDBUF if the user set it, else 0. */
int sp_sk_user_sndbuf(const struct sock *sk)
{
	return sk->sk_userlocks & SOCK_SNDBUF_LOCK ? READ_ONCE(sk->sk_sndbuf) : 0;
}

/* SO_LINGER in milliseconds, or -1 when it is off. */
int sp_sk_linger_ms(const struct sock *sk)
{
	unsigned long t = READ_ONCE(sk->sk_lingertime) / HZ;

	if (!sock_flag(sk, SOCK_LINGER))
		return -1;
	return min_t(unsigned long, t, INT_MAX / MSEC_PER_SEC) * MSEC_PER_SEC;
}

/* As SO_SNDBUF does: a fixed send buffer, no autotuning. */
void sp_sk_lock_sndbuf(struct sock *sk, int bytes)
{
	lock_sock(sk);
	sk->sk_userlocks |= SOCK_SNDBUF_LOCK;
	WRITE_ONCE(sk->sk_sndbuf, max_t(int, bytes, SOCK_MIN_SNDBUF));
	release_sock(sk);
}

/*
 * Makes @sk, a kernel TCP socket, hold its network namespace as a user's
 * socket does.  tcp_close() stops the timers of one that does not, as they
 * could outlive the namespace: released with data or a FIN unacknowledged,
 * it would never retransmit, and stay an orphan until the peer happened to
 * send something.  Process context, before the socket is locked (the
 * namespace tracker allocates with GFP_KERNEL).
 */
int sp_tcp_hold_net(struct sock *sk)
{
	struct net *net = sock_net(sk);

	if (sk->sk_net_refcnt)
		return 0;
	if (!maybe_get_net(net))
		return -ENETDOWN;
	sk_net_refcnt_upgrade(sk);
	put_net(net);
	return 0;
}

void sp_set_sk_rcvbuf(struct sock *sk, int bytes)
{
	WRITE_ONCE(sk->sk_rcvbuf, bytes);
}

void sp_cb_attach(struct sock *sk, void *user, struct sp_saved_cbs *saved,
		  void (*data_ready)(struct sock *sk),
		  void (*write_space)(struct sock *sk),
		  void (*state_change)(struct sock *sk))
{
	write_lock_bh(&sk->sk_callback_lock);
	saved->data_ready = sk->sk_data_ready;
	saved->write_space = sk->sk_write_space;
	saved->state_change = sk->sk_state_change;
	rcu_assign_sk_user_data(sk, user);
	if (data_ready)
		sk->sk_data_ready = data_ready;
	if (write_space)
		sk->sk_write_space = write_space;
	if (state_change)
		sk->sk_state_change = state_change;
	write_unlock_bh(&sk->sk_callback_lock);
}

/*
 * For listeners: accepted children are clones of the listening sock and
 * inherit its callbacks, but not user data marked NOCOPY.
 */
void sp_cb_attach_nocopy(struct sock *sk, void *user, struct sp_saved_cbs *saved,
			 void (*data_ready)(struct sock *sk))
{
	write_lock_bh(&sk->sk_callback_lock);
	saved->data_ready = sk->sk_data_ready;
	saved->write_space = sk->sk_write_space;
	saved->state_change = sk->sk_state_change;
	__rcu_assign_sk_user_data_with_flags(sk, user, SK_USER_DATA_NOCOPY);
	sk->sk_data_ready = data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
}

void sp_cb_detach(struct sock *sk, const struct sp_saved_cbs *saved)
{
	write_lock_bh(&sk->sk_callback_lock);
	rcu_assign_sk_user_data(sk, NULL);
	sk->sk_data_ready = saved->data_ready;
	sk->sk_write_space = saved->write_space;
	sk->sk_state_change = saved->state_change;
	write_unlock_bh(&sk->sk_callback_lock);
}

void sp_cb_read_lock(struct sock *sk)
{
	read_lock_bh(&sk->sk_callback_lock);
}

void sp_cb_read_unlock(struct sock *sk)
{
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * The user data of @sk, for our callback @fn that TCP called as @sk's @which
 * (SP_CB_*): NULL if @fn is no longer that callback.  TCP loads the callback
 * pointer before our callback takes sk_callback_lock, so a call can arrive
 * after the socket passed to another owner whose user data is of another
 * type: a dialer's socket to its pipe, or a listener's accepted clone, which
 * inherits the listener's sk_data_ready, to a pipe.  Under the lock.
 */
void *sp_cb_user(struct sock *sk, int which, void (*fn)(struct sock *sk))
{
	void (*cur)(struct sock *sk);

	switch (which) {
	case SP_CB_DATA_READY:
		cur = sk->sk_data_ready;
		break;
	case SP_CB_WRITE_SPACE:
		cur = sk->sk_write_space;
		break;
	default:
		cur = sk->sk_state_change;
		break;
	}
	if (cur != fn)
		return NULL;
	return __locked_read_sk_user_data_with_flags(sk, 0);
}

static_assert(sizeof(struct sp_rx_cb) <= sizeof_field(struct sk_buff, cb));

static struct sp_rx_cb *sp_rx_cb(struct sk_buff *skb)
{
	return (struct sp_rx_cb *)skb->cb;
}

/*
 * A linear skb that frames or received records are packed into: room for
 * @size bytes, but no more than one page's worth (the allocation stays in
 * the page allocator's cheapest order).
 */
struct sk_buff *sp_batch_alloc(unsigned int size)
{
	return alloc_skb(min_t(unsigned int, size, SP_BATCH_MAX), GFP_ATOMIC);
}

int sp_copy_from_msg(void *dst, struct msghdr *msg, size_t len)
{
	return copy_from_iter_full(dst, len, &msg->msg_iter) ? 0 : -EFAULT;
}

unsigned int sp_skb_tailroom(const struct sk_buff *skb)
{
	return skb_tailroom(skb);
}

unsigned int sp_skb_truesize(const struct sk_buff *skb)
{
	return skb->truesize;
}

void sp_skb_trim(struct sk_buff *skb, unsigned int len)
{
	skb_trim(skb, len);
}

/*
 * Appends @len bytes at @off of @src to @msg, a large message being
 * received, in order-0 pages: MAX_SKB_FRAGS of them in @msg, then in skbs
 * chained on its frag_list (sp_rx_cb(msg)->tail is the last).  Allocates
 * only as the bytes arrive, so that a peer announcing a large message costs
 * nothing until it sends it.  GFP_ATOMIC.
 */
int sp_rx_append(struct sk_buff *msg, const struct sk_buff *src, int off,
		 int len)
{
	struct sp_rx_cb *cb = sp_rx_cb(msg);
	struct sk_buff *skb = cb->tail ?: msg;

	while (len > 0) {
		struct skb_shared_info *sh = skb_shinfo(skb);
		skb_frag_t *frag = sh->nr_frags ? &sh->frags[sh->nr_frags - 1] : NULL;
		unsigned int used = frag ? skb_frag_off(frag) + skb_frag_size(frag) : PAGE_SIZE;
		int n;

		if (used == PAGE_SIZE && sh->nr_frags == MAX_SKB_FRAGS) {
			struct sk_buff *next = alloc_skb(0, GFP_ATOMIC);

			if (!next)
				return -ENOMEM;
			if (skb == msg)
				sh->frag_list = next;
			else
				skb->next = next;
			msg->truesize += next->truesize;
			cb->tail = next;
			skb = next;
			continue;
		}
		if (used == PAGE_SIZE) {
			struct page *page = alloc_page(GFP_ATOMIC);

			if (!page)
				return -ENOMEM;
			skb_fill_page_desc(skb, sh->nr_frags, page, 0, 0);
			skb->truesize += PAGE_SIZE;
			if (skb != msg)
				msg->truesize += PAGE_SIZE;
			continue;
		}
		n = min_t(int, len, PAGE_SIZE - used);
		if (skb_copy_bits(src, off, page_address(skb_frag_page(frag)) + used, n))
			return -EFAULT;
		skb_frag_size_add(frag, n);
		skb->len += n;
		skb->data_len += n;
		if (skb != msg) {
			msg->len += n;
			msg->data_len += n;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * A large message being received is read out of TCP's buffers into pages of
 * its own as its bytes arrive.  Those pages stay TCP memory until the message
 * is complete (then the SP socket's receive buffer accounts for it): counted
 * in TCP's memory_allocated, shown as /proc/net/sockstat's "TCP mem", so that
 * tcp_mem bounds them across all connections as it bounds TCP's own buffers,
 * and TCP feels the pressure they put on it.  No charge past tcp_mem's hard
 * limit: the caller then closes the connection.  Any context; tcpv6_prot
 * shares these counters.
 */
bool sp_tcp_mem_charge(long pages)
{
	struct proto *prot = &tcp_prot;

	if (proto_memory_allocated(prot) + pages > READ_ONCE(prot->sysctl_mem[2]))
		return false;
	atomic_long_add(pages, prot->memory_allocated);
	return true;
}

void sp_tcp_mem_uncharge(long pages)
{
	atomic_long_sub(pages, tcp_prot.memory_allocated);
}

/*
 * The bytes of @skb from @off on that lie contiguously in memory: their
 * address, and their count in *@len (no more than it was).  NULL if they are
 * not directly addressable (unreadable or unmapped fragments, the frag list):
 * use skb_copy_bits() then.
 */
const u8 *sp_skb_span(const struct sk_buff *skb, unsigned int off,
		      unsigned int *len)
{
	const struct skb_shared_info *sh = skb_shinfo(skb);
	unsigned int head = skb_headlen(skb);
	int i;

	if (off < head) {
		*len = min(*len, head - off);
		return skb->data + off;
	}
	if (!skb_frags_readable(skb))
		return NULL;
	off -= head;
	for (i = 0; i < sh->nr_frags; i++) {
		const skb_frag_t *frag = &sh->frags[i];
		unsigned int size = skb_frag_size(frag);
		const u8 *p;

		if (off >= size) {
			off -= size;
			continue;
		}
		p = skb_frag_address_safe(frag);
		if (!p)
			return NULL;
		*len = min(*len, size - off);
		return p + off;
	}
	return NULL;
}

/*
 * Queues a received skb for recvmsg(), charged to the receive buffer; the
 * caller bounds what it queues and wakes readers once (sp_sk_data_ready()).
 */
void sp_rx_queue(struct sock *sk, struct sk_buff *skb)
{
	skb_set_owner_r(skb, sk);
	skb_queue_tail(&sk->sk_receive_queue, skb);
}

void sp_sk_data_ready(struct sock *sk)
{
	sk->sk_data_ready(sk);
}

int sp_sk_rmem(const struct sock *sk)
{
	return atomic_read(&sk->sk_rmem_alloc);
}

int sp_sk_rcvbuf(const struct sock *sk)
{
	return READ_ONCE(sk->sk_rcvbuf);
}

/* The first queued skb, with a reference of the caller's own; NULL if none. */
/*
 * The first skb on the receive queue, without taking a reference: only for a
 * reader holding the socket's reader lock, under which alone skbs leave the
 * queue (sp_rx_unlink() and purges), so that it stays valid until that
 * reader unlinks it.  Producers only append, under the queue's lock, which
 * publishes the skb's contents before its address.
 */
struct sk_buff *sp_rx_peek(struct sock *sk)
{
	struct sk_buff_head *q = &sk->sk_receive_queue;
	struct sk_buff *skb = READ_ONCE(q->next);

	return skb == (struct sk_buff *)q ? NULL : skb;
}

/*
 * Takes @skb, all read, off the receive queue and frees it (the queue's
 * reference).  The caller holds the reader lock: @skb is the head.
 */
void sp_rx_unlink(struct sock *sk, struct sk_buff *skb)
{
	skb_unlink(skb, &sk->sk_receive_queue);
	kfree_skb(skb);
}

unsigned char *sp_skb_put(struct sk_buff *skb, unsigned int len)
{
	return skb_put(skb, len);
}

struct sk_buff *sp_skb_get(struct sk_buff *skb)
{
	return skb_get(skb);
}

void sp_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

struct sk_buff *sp_alloc_skb(unsigned int len)
{
	return alloc_skb(len, GFP_KERNEL);
}

void sp_timer_setup(struct timer_list *timer,
		    void (*fn)(struct timer_list *timer))
{
	timer_setup(timer, fn, 0);
}

unsigned long sp_jiffies(void)
{
	return READ_ONCE(jiffies);
}

/*
 * Unbound: work (a PUB's transmit above all) runs on whichever CPU is free,
 * beside the process that queued it, rather than after it on its CPU.
 */
struct workqueue_struct *sp_alloc_workqueue(void)
{
	return alloc_workqueue("sp", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
}

/*
 * What one skb of a message holds in page fragments: MAX_SKB_FRAGS pages, so
 * that it needs no high-order allocation (larger pages are used when free).
 */
#define SP_SKB_CHUNK	(MAX_SKB_FRAGS * PAGE_SIZE)

/*
 * Continues @head with @len more bytes in a frag_list of skbs of at most
 * SP_SKB_CHUNK each, charged to @sk as @head is: a message of any size needs
 * only order-0 pages.
 */
static int sp_skb_extend(struct sock *sk, struct sk_buff *head, size_t len)
{
	struct sk_buff **tail = &skb_shinfo(head)->frag_list;
	struct sk_buff *skb;
	size_t chunk;
	int err;

	while (len) {
		chunk = min_t(size_t, len, SP_SKB_CHUNK);
		skb = alloc_skb_with_frags(0, chunk, PAGE_ALLOC_COSTLY_ORDER,
					   &err, sk->sk_allocation);
		if (!skb)
			return err;
		skb->len = chunk;
		skb->data_len = chunk;
		*tail = skb;
		tail = &skb->next;
		head->len += chunk;
		head->data_len += chunk;
		head->truesize += skb->truesize;
		refcount_add(skb->truesize, &sk->sk_wmem_alloc);
		len -= chunk;
	}
	return 0;
}

/*
 * A message skb for sendmsg(): @headroom bytes of SP framing in the linear
 * part, then the @len payload bytes copied from @msg: up to SKB_MAX_ALLOC in
 * the linear part, then page fragments, then, for large messages, a
 * frag_list (sp_skb_extend()).  Charged to sk_wmem_alloc; blocks per
 * SO_SNDTIMEO unless MSG_DONTWAIT.
 */
struct sk_buff *sp_skb_alloc_send(struct sock *sk, unsigned int headroom,
				  struct msghdr *msg, size_t len, int *err)
{
	size_t linear = min_t(size_t, len, SKB_MAX_ALLOC);
	size_t frags = min_t(size_t, len - linear, SP_SKB_CHUNK);
	struct sk_buff *skb;

	skb = sock_alloc_send_pskb(sk, headroom + linear, frags,
				   msg->msg_flags & MSG_DONTWAIT, err,
				   PAGE_ALLOC_COSTLY_ORDER);
	if (!skb)
		return NULL;
	skb_put(skb, headroom + linear);
	skb->data_len = frags;
	skb->len += frags;
	*err = sp_skb_extend(sk, skb, len - linear - frags);
	if (!*err)
		*err = skb_copy_datagram_from_iter(skb, headroom, &msg->msg_iter,
						   len);
	if (*err) {
		kfree_skb(skb);
		return NULL;
	}
	return skb;
}

void sp_skb_orphan(struct sk_buff *skb)
{
	skb_orphan(skb);
}

int sp_skb_copy_to_msg(const struct sk_buff *skb, int offset,
		       struct msghdr *msg, int len)
{
	/* A record of a batch: linear, copied without walking the skb. */
	if (offset + len <= skb_headlen(skb))
		return copy_to_iter(skb->data + offset, len, &msg->msg_iter) == len ?
			0 : -EFAULT;
	return skb_copy_datagram_msg(skb, offset, msg, len);
}

struct sk_buff *sp_skb_next(const struct sk_buff *skb)
{
	return skb->next;
}

void sp_skb_set_next(struct sk_buff *skb, struct sk_buff *next)
{
	skb->next = next;
}

void sp_sk_purge_receive_queue(struct sock *sk)
{
	skb_queue_purge(&sk->sk_receive_queue);
}

bool sp_sk_receive_queue_empty(const struct sock *sk)
{
	return skb_queue_empty_lockless(&sk->sk_receive_queue);
}

/* The time a receive may wait, per SO_RCVTIMEO and MSG_DONTWAIT (jiffies). */
long sp_sk_rcvtimeo(const struct sock *sk, bool noblock)
{
	return sock_rcvtimeo(sk, noblock);
}

/*
 * Waits until something is queued for the user, *@gen moves on from @seen
 * (a pattern's state changed: a survey expired; see sp_sk_wake_all()), @timeo
 * runs out (what is left stays in it; none: -EAGAIN), the socket has an error
 * or a signal comes.  Returns 0 or a negative errno.  Nothing is taken off the
 * queue: readers take messages one by one under their lock.
 *
 * The conditions are tested with the waiter already queued, as sk_wait_event()
 * does, so a message or wake-up that comes after the caller found nothing and
 * before it sleeps is not lost.
 */
int sp_rx_wait(struct sock *sk, long *timeo, const u32 *gen, u32 seen)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err = 0;

	add_wait_queue_exclusive(sk_sleep(sk), &wait);
	/*
	 * Orders the waiter's being queued before the tests below, paired with
	 * the barrier in skwq_has_sleeper() on the waker's side: either the
	 * waker sees us queued or we see its message (as prepare_to_wait()).
	 */
	smp_mb();
	while (skb_queue_empty_lockless(&sk->sk_receive_queue) &&
	       READ_ONCE(*gen) == seen) {
		err = sock_error(sk);
		if (err)
			break;
		if (!*timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		*timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, *timeo);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/*
 * Wakes every reader and poller, not one reader as a message does: what a
 * pattern reports (a survey's end) is for all of them.
 */
void sp_sk_wake_all(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_all(&wq->wait);
	sk_wake_async_rcu(sk, SOCK_WAKE_WAITD, POLL_IN);
	rcu_read_unlock();
}

int sp_copy_from_sockptr(void *dst, sockptr_t src, size_t size)
{
	return copy_from_sockptr(dst, src, size) ? -EFAULT : 0;
}
