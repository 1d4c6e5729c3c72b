/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers of sp.ko: one-line wrappers for the static inlines and macros the
 * Rust side cannot call, and the one C structure the socket layer allocates
 * for us.  Nothing here holds logic.
 */
#ifndef _SP_HELPERS_H
#define _SP_HELPERS_H

#include <linux/skbuff.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <net/sock.h>

/* The socket the core allocates for a PF_SP socket (proto.obj_size). */
struct sp_sk {
	struct sock sk;		/* first: sk_alloc() hands out a struct sock */
	void *state;		/* the Rust `Socket` (an `Arc` reference) */
};

void sp_spin_lock_bh(spinlock_t *lock);
void sp_spin_unlock_bh(spinlock_t *lock);

void sp_sock_hold(struct sock *sk);
void sp_sock_put(struct sock *sk);
void sp_sock_orphan(struct sock *sk);
void sp_lock_sock(struct sock *sk);
struct net *sp_sock_net(const struct sock *sk);
int sp_sk_state(const struct sock *sk);
void sp_sk_set_state(struct sock *sk, int state);
int sp_sk_sndbuf(const struct sock *sk);
int sp_sk_user_sndbuf(const struct sock *sk);
int sp_sk_linger_ms(const struct sock *sk);
void sp_sk_lock_sndbuf(struct sock *sk, int bytes);
int sp_tcp_hold_net(struct sock *sk);
void sp_set_sk_rcvbuf(struct sock *sk, int bytes);

/* Callbacks of a kernel TCP socket we own, under sk_callback_lock. */
struct sp_saved_cbs {
	void (*data_ready)(struct sock *sk);
	void (*write_space)(struct sock *sk);
	void (*state_change)(struct sock *sk);
};

void sp_cb_attach(struct sock *sk, void *user, struct sp_saved_cbs *saved,
		  void (*data_ready)(struct sock *sk),
		  void (*write_space)(struct sock *sk),
		  void (*state_change)(struct sock *sk));
void sp_cb_attach_nocopy(struct sock *sk, void *user, struct sp_saved_cbs *saved,
			 void (*data_ready)(struct sock *sk));
void sp_cb_detach(struct sock *sk, const struct sp_saved_cbs *saved);
void sp_cb_read_lock(struct sock *sk);
void sp_cb_read_unlock(struct sock *sk);
#define SP_CB_DATA_READY	0
#define SP_CB_WRITE_SPACE	1
#define SP_CB_STATE_CHANGE	2
void *sp_cb_user(struct sock *sk, int which, void (*fn)(struct sock *sk));

/*
 * What a received skb's control block says, for recvmsg().  A batch holds
 * small messages as records, each a u32 length (SP_RX_DEAD set: skip it), a
 * u32 pipe id and the payload, from @pos (the next one to read) to @end; a
 * large message is an skb of its own, its payload from @pos to @end.
 */
struct sp_rx_cb {
	u32 pos;
	u32 end;
	u32 pipe;		/* large message: the pipe it came from */
	u32 batch;
	struct sk_buff *tail;	/* large message being received: its last skb */
};

#define SP_RX_DEAD	0x80000000u
/* The largest batch allocation: one page, skb_shared_info included. */
#define SP_BATCH_MAX	SKB_WITH_OVERHEAD(PAGE_SIZE)

struct sk_buff *sp_batch_alloc(unsigned int size);
unsigned int sp_skb_tailroom(const struct sk_buff *skb);
unsigned int sp_skb_truesize(const struct sk_buff *skb);
void sp_skb_trim(struct sk_buff *skb, unsigned int len);
int sp_rx_append(struct sk_buff *msg, const struct sk_buff *src, int off,
		 int len);
bool sp_tcp_mem_charge(long pages);
void sp_tcp_mem_uncharge(long pages);
const u8 *sp_skb_span(const struct sk_buff *skb, unsigned int off,
		      unsigned int *len);
void sp_rx_queue(struct sock *sk, struct sk_buff *skb);
void sp_sk_data_ready(struct sock *sk);
int sp_sk_rmem(const struct sock *sk);
int sp_sk_rcvbuf(const struct sock *sk);
struct sk_buff *sp_rx_peek(struct sock *sk);
void sp_rx_unlink(struct sock *sk, struct sk_buff *skb);

unsigned char *sp_skb_put(struct sk_buff *skb, unsigned int len);
struct sk_buff *sp_skb_get(struct sk_buff *skb);
void sp_kfree_skb(struct sk_buff *skb);
struct sk_buff *sp_alloc_skb(unsigned int len);

void sp_timer_setup(struct timer_list *timer,
		    void (*fn)(struct timer_list *timer));
unsigned long sp_jiffies(void);

struct workqueue_struct *sp_alloc_workqueue(void);

extern int sp_family;

struct sk_buff *sp_skb_alloc_send(struct sock *sk, unsigned int headroom,
				  struct msghdr *msg, size_t len, int *err);
int sp_skb_copy_to_msg(const struct sk_buff *skb, int offset,
		       struct msghdr *msg, int len);
struct sk_buff *sp_skb_next(const struct sk_buff *skb);
void sp_skb_set_next(struct sk_buff *skb, struct sk_buff *next);
void sp_skb_orphan(struct sk_buff *skb);
void sp_sk_purge_receive_queue(struct sock *sk);
bool sp_sk_receive_queue_empty(const struct sock *sk);
long sp_sk_rcvtimeo(const struct sock *sk, bool noblock);
int sp_rx_wait(struct sock *sk, long *timeo, const u32 *gen, u32 seen);
void sp_sk_wake_all(struct sock *sk);
int sp_copy_from_sockptr(void *dst, sockptr_t src, size_t size);
int sp_copy_from_msg(void *dst, struct msghdr *msg, size_t len);

#endif /* _SP_HELPERS_H */
