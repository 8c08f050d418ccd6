using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using TrustServer.Server.Auth;
using TrustServer.Server.Options;

namespace TrustServer.Server.Notary;

/// <summary>
/// Rate limits of the Notary routes (<c>RateLimits</c>). Each client (token <c>sub</c> when authenticated, else the
/// remote address) has a token bucket of <see cref="KeyCreations"/> refilled evenly over <see cref="KeyCreationWindow"/>.
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "RateLimits";

    /// <summary>
    /// Signer keys one client may have created per <see cref="KeyCreationWindow"/> (also the burst): every
    /// <c>POST …/{snapshot,timestamp}.key</c> and every <c>GET</c> of a repository whose root lists no key the signer
    /// holds (a new repository). 0 = unlimited. A <c>notary init</c> uses one or two.
    /// </summary>
    [Range(0, 1_000_000)]
    public int KeyCreations { get; set; } = 30;

    /// <summary>The window over which <see cref="KeyCreations"/> are refilled, one every window / <see cref="KeyCreations"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan KeyCreationWindow { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Bounds how fast one client makes the signer create keys: without it, unauthenticated <c>GET …/timestamp.key</c> on
/// ever new GUNs creates (and stores) keys without bound. Refusals are 429 <c>TOOMANYREQUESTS</c> (docker/distribution's
/// errcode) with <c>Retry-After</c>.
/// </summary>
internal sealed partial class KeyCreationLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;
    private readonly TimeSpan _period;
    private readonly ILogger<KeyCreationLimiter> _logger;

    public KeyCreationLimiter(IOptions<RateLimitOptions> options, ILogger<KeyCreationLimiter> logger)
    {
        _logger = logger;
        var o = options.Value;
        if (o.KeyCreations == 0)
        {
            return;
        }

        _period = o.KeyCreationWindow / o.KeyCreations;
        _limiter = ClientThrottling.TokenBuckets(o.KeyCreations, o.KeyCreationWindow);
    }

    /// <summary>Takes one key creation from the request's client; the 429 to answer when its allowance is spent.</summary>
    public IResult? TryAcquire(HttpContext context, string gun)
    {
        if (_limiter is null)
        {
            return null;
        }

        var client = ClientThrottling.Client(context);
        using var lease = _limiter.AttemptAcquire(client);
        if (lease.IsAcquired)
        {
            return null;
        }

        var seconds = ClientThrottling.RetryAfterSeconds(lease, _period);
        LogLimited(_logger, gun, client, seconds);
        ClientThrottling.SetRetryAfter(context.Response, seconds);
        return NotaryErrors.Of(NotaryErrorCode.TooManyRequests, JsonValue.Create($"too many signing keys created by this client; retry after {seconds} s"));
    }

    public void Dispose() => _limiter?.Dispose();

    [LoggerMessage(EventId = 1150, Level = LogLevel.Warning, Message = "Key creation for {Gun} refused: {Client} is over RateLimits:KeyCreations (retry after {RetryAfterSeconds} s)")]
    private static partial void LogLimited(ILogger logger, string gun, string client, int retryAfterSeconds);
}

/// <summary>Wiring of <see cref="KeyCreationLimiter"/>.</summary>
internal static class KeyCreationLimiterExtensions
{
    public static IServiceCollection AddKeyCreationLimits(this IServiceCollection services)
    {
        services.AddValidatedOptions<RateLimitOptions>(RateLimitOptions.Section);
        return services.AddSingleton<KeyCreationLimiter>();
    }
}
