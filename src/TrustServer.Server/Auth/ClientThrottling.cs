using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;

namespace TrustServer.Server.Auth;

/// <summary>Who a request counts against for rate limits, and how a refusal tells the client when to come back.</summary>
internal static class ClientThrottling
{
    /// <summary>
    /// The remote address as a partition key: IPv4 as is (also when mapped into IPv6), IPv6 by its /64 network, since
    /// one subscriber or host usually holds a whole /64 and could otherwise rotate addresses for free.
    /// </summary>
    public static string Address(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        bytes.AsSpan(8).Clear();
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>The authenticated principal (token <c>sub</c>) when there is one, else the remote address.</summary>
    public static string Client(HttpContext context) =>
        context.User.FindFirst("sub")?.Value is { Length: > 0 } subject ? "sub:" + subject : "addr:" + Address(context);

    /// <summary>
    /// One token bucket per key: <paramref name="allowance"/> permits (also the burst), one back every
    /// <paramref name="window"/> / <paramref name="allowance"/>; no queueing.
    /// </summary>
    public static PartitionedRateLimiter<string> TokenBuckets(int allowance, TimeSpan window)
    {
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = allowance,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = window / allowance,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
        return PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => bucket));
    }

    /// <summary>Whole seconds until a refused lease may succeed (at least 1), from its metadata or <paramref name="fallback"/>.</summary>
    public static int RetryAfterSeconds(RateLimitLease lease, TimeSpan fallback) =>
        RetryAfterSeconds(lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : fallback);

    /// <summary>Whole seconds, rounded up, at least 1 (<c>Retry-After</c> takes delta-seconds, RFC 9110 §10.2.3).</summary>
    public static int RetryAfterSeconds(TimeSpan wait) => (int)Math.Clamp(Math.Ceiling(wait.TotalSeconds), 1, int.MaxValue);

    /// <summary>Sets <c>Retry-After</c>.</summary>
    public static void SetRetryAfter(HttpResponse response, int seconds) =>
        response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
}
