namespace TrustServer.Data.Webhooks;

/// <summary>The webhook event types (<c>Webhooks:Endpoints:&lt;i&gt;:Events</c>).</summary>
public static class WebhookEventTypes
{
    /// <summary>A publish was committed (<c>POST /v2/&lt;gun&gt;/_trust/tuf/</c>).</summary>
    public const string Published = "published";

    /// <summary>A repository was deleted.</summary>
    public const string Deleted = "deleted";

    /// <summary>The signer created a new key for a role (<c>POST {role}.key</c>, <c>notary key rotate -r</c>).</summary>
    public const string KeyRotated = "key-rotated";

    /// <summary>A current root, targets or delegation file entered a 30-day or 7-day window before its expiry, or expired.</summary>
    public const string Expiring = "expiring";

    /// <summary>Every type.</summary>
    public static readonly IReadOnlyList<string> All = [Published, Deleted, KeyRotated, Expiring];
}

/// <summary>The <c>status</c> values of an outbox event.</summary>
public static class WebhookStatuses
{
    /// <summary>Waiting for (another) delivery attempt.</summary>
    public const string Pending = "pending";

    /// <summary>The endpoint answered 2xx.</summary>
    public const string Delivered = "delivered";

    /// <summary>Given up (too many attempts, too old, or the endpoint is no longer configured): dead-lettered.</summary>
    public const string Failed = "failed";
}

/// <summary>A role of a change: its name, and its version and expiry where they apply.</summary>
public sealed record WebhookRole(string Role, long? Version = null, DateTimeOffset? Expires = null);

/// <summary>What a change announces; the composer turns it into the outbox rows of the matching endpoints.</summary>
/// <param name="Type">One of <see cref="WebhookEventTypes"/>.</param>
/// <param name="Gun">The repository.</param>
/// <param name="Roles">The roles written (with versions), the role of a key, or the expiring role.</param>
/// <param name="ChangefeedId">The changefeed record of the change (publish, delete); null for key and expiry events.</param>
/// <param name="Actor">Who made the change.</param>
/// <param name="Time">When it was committed.</param>
/// <param name="KeyId">The new key of a <c>key-rotated</c> event.</param>
/// <param name="Within">The window of an <c>expiring</c> event: <c>30d</c>, <c>7d</c> or <c>expired</c>.</param>
public sealed record WebhookEvent(
    string Type, string Gun, IReadOnlyList<WebhookRole> Roles, long? ChangefeedId, AuditActor Actor, DateTimeOffset Time, string? KeyId = null, string? Within = null);

/// <summary>One outbox row to write: the body for one endpoint.</summary>
/// <param name="EndpointUrl">The endpoint's configured URL.</param>
/// <param name="EventId">The CloudEvents id.</param>
/// <param name="Payload">The exact body to send.</param>
public sealed record WebhookMessage(string EndpointUrl, string EventId, byte[] Payload);

/// <summary>
/// Turns changes into outbox rows, called by the data layer inside the change's transaction (implemented by the
/// server from its <c>Webhooks</c> settings). Without a composer, or when no endpoint wants an event, nothing is written.
/// </summary>
public interface IWebhookComposer
{
    /// <summary>Whether any endpoint subscribes to <paramref name="type"/> (checked before any work).</summary>
    bool Wants(string type);

    /// <summary>The rows of the endpoints that want <paramref name="change"/> (type and GUN pattern); may be empty.</summary>
    IReadOnlyList<WebhookMessage> Compose(WebhookEvent change);

    /// <summary>Called after a transaction that wrote rows committed: wakes this replica's delivery.</summary>
    void Committed();
}

/// <summary>An expiry crossing the scan found: announced once (see <see cref="IWebhookOutbox.AnnounceExpiringAsync"/>).</summary>
public sealed record ExpiryCrossing(string Gun, string Role, long Version, DateTimeOffset Expires, string Within);

/// <summary>An outbox event as the dispatcher and the admin API see it.</summary>
public sealed record WebhookOutboxRecord(
    long Id,
    DateTimeOffset CreatedAt,
    string EventId,
    string EventType,
    string Gun,
    string EndpointUrl,
    string Status,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    DateTimeOffset? CompletedAt,
    int? LastStatusCode,
    string? LastError,
    byte[] Payload);

/// <summary>One delivery attempt.</summary>
/// <param name="AttemptedAt">When it started.</param>
/// <param name="DurationMs">How long it took.</param>
/// <param name="StatusCode">The response status (null: no response).</param>
/// <param name="Error">Why it failed (null: delivered).</param>
/// <param name="NextAttemptAt">When the next attempt is due (null: delivered or given up).</param>
public sealed record WebhookAttempt(DateTimeOffset AttemptedAt, int DurationMs, int? StatusCode, string? Error, DateTimeOffset? NextAttemptAt);

/// <summary>
/// The outbox as the delivery worker and the admin API use it. Rows are written by the changes themselves
/// (<see cref="IMetadataStore.CommitAsync(string, ExpectedTimestamp, IReadOnlyList{TrustServer.Tuf.Validation.MetadataFile}, AuditContext, CancellationToken)"/>, <see cref="IMetadataStore.DeleteAsync"/>, <see cref="IAuditLog.RecordAsync(AuditEntry, WebhookEvent?, CancellationToken)"/>).
/// </summary>
public interface IWebhookOutbox
{
    /// <summary>
    /// Pending events due at <paramref name="now"/> that are the oldest pending event of their (endpoint, GUN): a
    /// GUN's later event waits until the earlier one is delivered or given up. Oldest first, at most <paramref name="max"/>.
    /// </summary>
    Task<IReadOnlyList<WebhookOutboxRecord>> GetDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default);

    /// <summary>The earliest next attempt of any pending event; null when nothing is pending.</summary>
    Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Records an attempt of event <paramref name="id"/> and its new state in one transaction: <paramref name="status"/>
    /// (<see cref="WebhookStatuses"/>), and for a pending event the attempt's <see cref="WebhookAttempt.NextAttemptAt"/>.
    /// </summary>
    Task RecordAttemptAsync(long id, WebhookAttempt attempt, string status, CancellationToken cancellationToken = default);

    /// <summary>How many events are pending.</summary>
    Task<long> CountPendingAsync(CancellationToken cancellationToken = default);

    /// <summary>Events newest first, optionally of one status and/or GUN, and how many match.</summary>
    Task<Page<WebhookOutboxRecord>> QueryAsync(string? status, string? gun, int skip, int take, CancellationToken cancellationToken = default);

    /// <summary>One event and its attempts (oldest first); null when unknown.</summary>
    Task<(WebhookOutboxRecord Event, IReadOnlyList<WebhookAttempt> Attempts)?> GetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes an <c>expiring</c> event for each crossing not announced before, each in its own transaction with its
    /// notice row (the notice's primary key makes concurrent scans of several replicas announce it once). Returns how
    /// many were announced now.
    /// </summary>
    Task<int> AnnounceExpiringAsync(IReadOnlyList<ExpiryCrossing> crossings, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Retention: deletes up to <paramref name="batchSize"/> delivered or failed events completed before
    /// <paramref name="cutoff"/> (with their attempts), and expiry notices whose expiry is before
    /// <paramref name="noticeCutoff"/>. Returns how many events were deleted.
    /// </summary>
    Task<int> PruneAsync(DateTimeOffset cutoff, DateTimeOffset noticeCutoff, int batchSize, CancellationToken cancellationToken = default);
}

/// <summary>Sizes the outbox stores.</summary>
public static class WebhookLimits
{
    /// <summary>The longest endpoint URL.</summary>
    public const int UrlMaxLength = 2048;

    /// <summary>The longest stored delivery error.</summary>
    public const int ErrorMaxLength = 1024;
}
