using System.Net.Mime;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using Microsoft.Extensions.Options;
using TrustServer.Data.Webhooks;

namespace TrustServer.Server.Webhooks;

/// <summary>A configured endpoint, ready to match and sign.</summary>
internal sealed class WebhookEndpoint
{
    private readonly Func<string, bool> _matches;
    private readonly HashSet<string> _events;
    private readonly byte[] _key;

    public WebhookEndpoint(WebhookEndpointOptions options)
    {
        Url = options.Url!;
        GunPattern = string.IsNullOrEmpty(options.GunPattern) ? null : options.GunPattern;
        _events = new HashSet<string>(options.EventTypes, StringComparer.Ordinal);
        _matches = Webhooks.GunPattern.Compile(GunPattern);
        _key = Encoding.UTF8.GetBytes(options.Secret!);
    }

    /// <summary>The configured URL (the outbox's endpoint key).</summary>
    public string Url { get; }

    /// <summary>The URL as logs and the admin API show it (no query or fragment).</summary>
    public string DisplayUrl => Display(Url);

    /// <summary>The configured pattern; null = every repository.</summary>
    public string? GunPattern { get; }

    /// <summary>The event types, in the order of <see cref="WebhookEventTypes.All"/>.</summary>
    public IReadOnlyList<string> Events => [.. WebhookEventTypes.All.Where(_events.Contains)];

    /// <summary>Whether it receives events of <paramref name="type"/>.</summary>
    public bool Wants(string type) => _events.Contains(type);

    /// <summary>Whether it receives <paramref name="type"/> events of <paramref name="gun"/>.</summary>
    public bool Wants(string type, string gun) => _events.Contains(type) && _matches(gun);

    /// <summary>The <c>X-TrustServer-Signature</c> value: <c>sha256=</c> and the lowercase hex HMAC-SHA256 of the body under the secret.</summary>
    public string Sign(ReadOnlySpan<byte> body) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(_key, body));

    /// <summary>Whether <paramref name="url"/> is an absolute http(s) URL without user info, short enough to store.</summary>
    public static bool IsValidUrl(string? url) =>
        url is { Length: > 0 and <= WebhookLimits.UrlMaxLength }
        && Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.UserInfo)
        && !string.IsNullOrEmpty(uri.Host);

    /// <summary>The URL without query and fragment (they may carry tokens), for logs and the admin API.</summary>
    public static string Display(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Path) : "(invalid URL)";
}

/// <summary>
/// Wakes this replica's delivery worker after a commit that wrote outbox rows (an in-process signal; other replicas'
/// events are found by the worker's poll).
/// </summary>
internal sealed class WebhookSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Raise()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // already raised
        }
    }

    /// <summary>Waits for a raise or the timeout; returns whether it was raised.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}

/// <summary>
/// The server's <see cref="IWebhookComposer"/>: which endpoints want a change, and its CloudEvents 1.0 structured-mode
/// JSON body (type <c>io.trustserver.&lt;event&gt;</c>, subject the GUN, data <see cref="WebhookData"/>). One body per
/// event, the same bytes for every endpoint.
/// </summary>
internal sealed class WebhookComposer : IWebhookComposer
{
    /// <summary>The prefix of the CloudEvents <c>type</c>.</summary>
    public const string TypePrefix = "io.trustserver.";

    private static readonly JsonSerializerOptions DataJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private static readonly JsonEventFormatter Formatter = new();

    private readonly Uri _source;
    private readonly WebhookSignal _signal;
    private readonly TimeProvider _timeProvider;

    public WebhookComposer(IOptions<WebhookOptions> options, WebhookSignal signal, TimeProvider timeProvider)
    {
        Endpoints = [.. options.Value.Endpoints.Select(e => new WebhookEndpoint(e))];
        _source = new Uri(options.Value.Source, UriKind.Absolute);
        _signal = signal;
        _timeProvider = timeProvider;
    }

    /// <summary>The configured endpoints.</summary>
    public IReadOnlyList<WebhookEndpoint> Endpoints { get; }

    public bool Wants(string type) => Endpoints.Any(e => e.Wants(type));

    public IReadOnlyList<WebhookMessage> Compose(WebhookEvent change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var endpoints = Endpoints.Where(e => e.Wants(change.Type, change.Gun)).ToList();
        if (endpoints.Count == 0)
        {
            return [];
        }

        var id = Guid.CreateVersion7(_timeProvider.GetUtcNow()).ToString();
        var data = new WebhookData(
            change.Gun,
            [.. change.Roles.Select(r => new WebhookRoleData(r.Role, r.Version, r.Expires))],
            change.ChangefeedId,
            change.Actor.Principal,
            change.Actor.RequestId,
            change.KeyId,
            change.Within);
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0)
        {
            Id = id,
            Source = _source,
            Type = TypePrefix + change.Type,
            Subject = change.Gun,
            Time = change.Time,
            DataContentType = MediaTypeNames.Application.Json,
            Data = JsonSerializer.SerializeToElement(data, DataJson),
        };
        var body = Formatter.EncodeStructuredModeMessage(cloudEvent, out _).ToArray();
        return [.. endpoints.Select(e => new WebhookMessage(e.Url, id, body))];
    }

    public void Committed() => _signal.Raise();
}

/// <summary>The <c>data</c> of every event.</summary>
/// <param name="Gun">The repository.</param>
/// <param name="Roles">published: every file written (role and version); deleted: empty; key-rotated: the key's role; expiring: the role, its version and expiry.</param>
/// <param name="ChangefeedId">The changefeed record of the change (<c>GET /v2/_trust/changefeed</c>); absent for key-rotated and expiring.</param>
/// <param name="Principal">Who: the token subject, <c>anonymous</c>, or <c>system:&lt;component&gt;</c>.</param>
/// <param name="RequestId">The request that made the change (the request log's RequestId); absent for background work.</param>
/// <param name="KeyId">key-rotated: the new key's id.</param>
/// <param name="Within">expiring: <c>30d</c>, <c>7d</c> or <c>expired</c>.</param>
internal sealed record WebhookData(
    string Gun, IReadOnlyList<WebhookRoleData> Roles, long? ChangefeedId, string Principal, string? RequestId, string? KeyId, string? Within);

/// <summary>A role in <see cref="WebhookData"/>.</summary>
internal sealed record WebhookRoleData(string Role, long? Version, DateTimeOffset? Expires);
