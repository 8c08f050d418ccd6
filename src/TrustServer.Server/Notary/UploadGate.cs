using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace TrustServer.Server.Notary;

/// <summary>
/// Bounds the uploads in flight (<see cref="LimitsOptions.MaxConcurrentUploads"/>): each one holds its bytes while it
/// is read, validated and stored, so this bounds the memory uploads take. Others wait, unread, in arrival order for
/// at most <see cref="LimitsOptions.UploadQueueTimeoutSeconds"/>.
/// </summary>
internal sealed class UploadGate(IOptions<LimitsOptions> options) : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.MaxConcurrentUploads,
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    /// <summary>Seconds a waiting upload waits at most; also the <c>Retry-After</c> of the 503.</summary>
    public int TimeoutSeconds => options.Value.UploadQueueTimeoutSeconds;

    /// <summary>A turn to dispose when the upload is done, or null when none came in time.</summary>
    public async Task<RateLimitLease?> EnterAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(TimeoutSeconds));
        try
        {
            var lease = await _limiter.AcquireAsync(1, timeout.Token);
            if (lease.IsAcquired)
            {
                return lease;
            }

            lease.Dispose();
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public void Dispose() => _limiter.Dispose();
}
