using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace TrustServer.Server.Auth;

/// <summary>
/// Brute-force and CPU protection of the built-in issuer: failed logins are counted per user name and per remote address
/// (token buckets of <see cref="TokenIssuerOptions.MaxFailedAttempts"/>), and password checks run at most
/// <see cref="TokenIssuerOptions.MaxConcurrentPasswordChecks"/> at a time.
/// </summary>
internal sealed class IssuerThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _failures;
    private readonly TimeSpan _period;
    private readonly ConcurrencyLimiter _checks;

    public IssuerThrottle(IOptions<TokenIssuerOptions> options)
    {
        var o = options.Value;
        _checks = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = o.MaxConcurrentPasswordChecks ?? Math.Max(1, Environment.ProcessorCount / 2),
            QueueLimit = o.PasswordCheckQueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        if (o.MaxFailedAttempts == 0)
        {
            return;
        }

        _period = o.FailedAttemptsWindow / o.MaxFailedAttempts;
        _failures = ClientThrottling.TokenBuckets(o.MaxFailedAttempts, o.FailedAttemptsWindow);
    }

    /// <summary>Seconds to wait when the user name or the address has no failed attempt left; null when a check may run.</summary>
    public int? RetryAfter(string? user, string address)
    {
        if (_failures is null)
        {
            return null;
        }

        // A look at the buckets that takes nothing (only failures are taken, see RecordFailure). Not AttemptAcquire(0):
        // the bucket refills continuously, so it reports success as soon as a fraction of a token is back.
        foreach (var key in Keys(user, address))
        {
            if (_failures.GetStatistics(key) is { CurrentAvailablePermits: < 1 })
            {
                return ClientThrottling.RetryAfterSeconds(_period);
            }
        }

        return null;
    }

    /// <summary>Counts a failed login against the user name (when there is one) and the address.</summary>
    public void RecordFailure(string? user, string address)
    {
        if (_failures is null)
        {
            return;
        }

        foreach (var key in Keys(user, address))
        {
            _failures.AttemptAcquire(key).Dispose();
        }
    }

    /// <summary>A slot for one password check (dispose it after the check); not acquired when the queue is full.</summary>
    public ValueTask<RateLimitLease> EnterPasswordCheckAsync(CancellationToken cancellationToken) => _checks.AcquireAsync(1, cancellationToken);

    public void Dispose()
    {
        _failures?.Dispose();
        _checks.Dispose();
    }

    private static IEnumerable<string> Keys(string? user, string address) => user is null ? ["addr:" + address] : ["addr:" + address, "user:" + user];
}
