// The one place that includes Wireshark's C headers, in the order they need,
// plus conversions from Wireshark types to core value types.
// Wireshark's headers carry their own C linkage guards, except packet-ip.h and
// packet-http.h (structs only, but wrapped for safety).
#pragma once

#include <epan/addr_resolv.h>
#include <epan/dissectors/packet-rpc.h>
#include <epan/dissectors/packet-tcp.h>
#include <epan/dissectors/packet-udp.h>
#include <epan/epan_dissect.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/proto.h>
#include <epan/stat_tap_ui.h>
#include <epan/stats_tree.h>
#include <epan/stats_tree_priv.h>
#include <epan/tap.h>
#include <epan/uat.h>
#include <wireshark.h>
#include <wsutil/report_message.h>
extern "C" {
#include <epan/dissectors/packet-http.h>
#include <epan/dissectors/packet-ip.h>
}

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <type_traits>
#include <vector>

#include "plugins/ws_compat.hpp"
#include "triage/ip_address.hpp"
#include "triage/stats.hpp"

namespace triage::ws {

inline IpAddress to_ip(const address& a) {
    if (a.type == AT_IPv4 && a.len == 4) return IpAddress::v4(static_cast<const std::uint8_t*>(a.data));
    if (a.type == AT_IPv6 && a.len == 16) return IpAddress::v6(static_cast<const std::uint8_t*>(a.data));
    return IpAddress();
}

inline Nanos to_nanos(const nstime_t& t) {
    return time_from(static_cast<std::int64_t>(t.secs), t.nsecs);
}

// The frame's captured bytes (for Triage's own detectors).
inline std::string_view frame_bytes(tvbuff_t* tvb) {
    if (!tvb) return {};
    const guint len = tvb_captured_length(tvb);
    return {reinterpret_cast<const char*>(tvb_get_ptr(tvb, 0, len)), len};
}

// The node `name` under `parent`, found as stats_tree_manip_node_int finds it
// (in the parent's table of children if it has one, else in the tree's).
inline stat_node* find_stat_node(stats_tree* st, const char* name, int parent) {
    const auto* p = static_cast<const stat_node*>(g_ptr_array_index(st->parents, parent));
    return static_cast<stat_node*>(g_hash_table_lookup(p->hash ? p->hash : st->names, name));
}

// A stats_tree node whose counter a statistic sets (MN_SET) on many frames.
// stats_tree_manip_node_int finds a node by hashing its name on every call,
// most of a tree form's cost per frame; this looks it up (and creates it) by
// name once, as that function does, then sets the counter through the node,
// which is all MN_SET does. The node lives as long as the tree's nodes:
// Wireshark frees them only in stats_tree_free, which calls the statistic's
// cleanup, and stats_tree_reinit, which calls its init again; a counter is
// kept in the state those two drop and make. stat_node is the same in 4.0,
// 4.4 and 4.6 (counter, hash; the tree's names and parents).
class TreeCounter {
public:
    // The node's id, as stats_tree_manip_node_int returns it (-1 for a
    // node made without children).
    int set(stats_tree* st, const char* name, int parent, bool with_hash, int value) {
        if (node_) {
            node_->counter = value;
            return node_->id;
        }
        const int id = stats_tree_manip_node_int(MN_SET, st, name, parent, with_hash, value);
        node_ = find_stat_node(st, name, parent);
        return id;
    }
    // The node exists: set() was called once.
    bool made() const { return node_ != nullptr; }

private:
    stat_node* node_ = nullptr;
};

// A stats_tree node that a statistic ticks (MN_INCREASE) or averages into
// (MN_AVERAGE) on many frames. Wireshark's functions find the node by hashing
// its name on each call (~700 instructions with the burst-rate bookkeeping:
// the Handshake RTT tree makes ten such calls a handshake). This keeps the
// node once Wireshark has made it and updates it through the pointer, exactly
// as stats_tree_manip_node_int/_float do, including the burst rate as
// update_burst_calc (stats_tree.c, the same code in 4.0, 4.4 and 4.6) keeps
// it for a frame in the node's last burst bucket or after it: that bucket
// counted, or a new one appended and the buckets that left the window freed
// (the first of them reused as the new one, where Wireshark allocates one and
// frees the other; buckets are g_new0'd and g_free'd, as Wireshark frees
// them). A frame before the last bucket (time going backwards) goes through
// Wireshark's function, by name.
// TRIAGE_STATS_TREE_BY_NAME set in the environment sends every update through
// Wireshark's functions (the tests compare the two outputs byte for byte).
class TreeNode {
public:
    // tick_stat_node (value 1) and increase_stat_node.
    void increase(stats_tree* st, const char* name, int parent, bool with_hash, int value = 1) {
        if (node_ && count_burst(st, value)) {
            node_->counter += value;
            return;
        }
        stats_tree_manip_node_int(MN_INCREASE, st, name, parent, with_hash, value);
        keep(st, name, parent);
    }
    // avg_stat_node_add_value_float: Wireshark takes the value as a float.
    void average(stats_tree* st, const char* name, int parent, bool with_hash, float value) {
        if (node_ && count_burst(st, 1)) {
            ++node_->counter;
            node_->total.float_total += value;
            if (node_->minvalue.float_min > value) node_->minvalue.float_min = value;
            if (node_->maxvalue.float_max < value) node_->maxvalue.float_max = value;
            node_->st_flags |= ST_FLG_AVERAGE;
            return;
        }
        stats_tree_manip_node_float(MN_AVERAGE, st, name, parent, with_hash, value);
        keep(st, name, parent);
    }
    // Every update by name, from now on (for the tests; see above).
    static bool by_name();

private:
    void keep(stats_tree* st, const char* name, int parent) {
        if (node_ || by_name()) return;
        node_ = find_stat_node(st, name, parent);
    }
    // update_burst_calc for a frame in or after the node's last bucket;
    // false (nothing changed) for a frame before it.
    bool count_burst(const stats_tree* st, int value) {
        if (!::prefs.st_enable_burstinfo) return true;
        stat_node& n = *node_;
        const double bucket = std::floor(st->now / ::prefs.st_burst_resolution);
        if (bucket > n.bt->bucket_no) {
            // Wireshark divides the two integer preferences as integers.
            const double window = ::prefs.st_burst_windowlen / ::prefs.st_burst_resolution;
            // A new last bucket; the first ones that leave the window are
            // dropped. The first of those, if any, becomes the new bucket
            // (Wireshark allocates one and frees the other: the same list).
            burst_bucket* b = nullptr;
            if (bucket >= n.bh->bucket_no + window) {
                b = n.bh;  // unlinked; the list is empty if it was the only one
                n.bcount -= b->count;
                n.bh = b->next;
                if (n.bh)
                    n.bh->prev = nullptr;
                else
                    n.bt = nullptr;
            } else {
                b = g_new0(burst_bucket, 1);
            }
            *b = burst_bucket{nullptr, n.bt, value, bucket, st->now};
            if (n.bt) n.bt->next = b;
            n.bt = b;
            if (!n.bh) n.bh = b;
            n.bcount += value;
            while (bucket >= n.bh->bucket_no + window) {
                burst_bucket* old = n.bh;
                n.bh = old->next;
                n.bh->prev = nullptr;
                n.bcount -= old->count;
                g_free(old);
            }
        } else if (bucket == n.bt->bucket_no) {
            n.bt->count += value;
            if (n.bt->start_time > st->now) n.bt->start_time = st->now;
            n.bcount += value;
        } else {
            return false;
        }
        if (n.bcount > n.max_burst) {
            n.max_burst = n.bcount;
            n.burst_time = n.bh->start_time;
        }
        return true;
    }
    stat_node* node_ = nullptr;
};

// Wireshark calls us from C: no C++ exception may cross back into its frames.
// ws::guard<fn> has fn's C signature and turns an exception into a message and
// a neutral result (a failed tap stops being called).
void report_internal_error(const char* what);

template <typename R>
R neutral_result() {
    if constexpr (std::is_same_v<R, tap_packet_status>)
        return TAP_PACKET_FAILED;
    else if constexpr (!std::is_void_v<R>)
        return R{};
}

template <auto Fn>
struct Guard;
template <typename R, typename... A, R (*Fn)(A...)>
struct Guard<Fn> {
    static R call(A... a) noexcept {
        try {
            return Fn(a...);
        } catch (const std::exception& e) {
            report_internal_error(e.what());
        } catch (...) {
            report_internal_error("unknown exception");
        }
        return neutral_result<R>();
    }
};
template <auto Fn>
constexpr auto guard = &Guard<Fn>::call;

}  // namespace triage::ws
