namespace TrustServer.Data;

/// <summary>The <c>action</c> values of the audit log.</summary>
public static class AuditActions
{
    /// <summary>An update of a repository (<c>POST /v2/&lt;gun&gt;/_trust/tuf/</c>).</summary>
    public const string Publish = "publish";

    /// <summary>Deletion of every file of a repository.</summary>
    public const string Delete = "delete";

    /// <summary>The signer created a key because none was held (<c>GET {role}.key</c>).</summary>
    public const string KeyCreate = "key-create";

    /// <summary>The signer created a new pending key (<c>POST {role}.key</c>).</summary>
    public const string KeyRotate = "key-rotate";

    /// <summary>The server re-signed its timestamp (and snapshot).</summary>
    public const string Resign = "resign";

    /// <summary>Retention removed old versions.</summary>
    public const string Retention = "retention";

    /// <summary>An importer stored a repository's files.</summary>
    public const string Import = "import";
}

/// <summary>The <c>outcome</c> values of the audit log.</summary>
public static class AuditOutcomes
{
    /// <summary>The change was committed (written in the change's own transaction).</summary>
    public const string Succeeded = "succeeded";

    /// <summary>Validation refused the change; nothing was stored.</summary>
    public const string Rejected = "rejected";

    /// <summary>A newer version was stored first (Notary's <c>VERSION</c>); nothing was stored.</summary>
    public const string Conflict = "conflict";

    /// <summary>The change failed (signer or database unavailable); nothing was stored.</summary>
    public const string Failed = "failed";
}

/// <summary>Who made a change: principal, client address and request id.</summary>
/// <param name="Principal">The token subject; <see cref="Anonymous"/> without token auth; <c>system:&lt;component&gt;</c> for background work.</param>
/// <param name="RemoteAddress">The client's IP address; null for background work.</param>
/// <param name="RequestId">The request's identifier (ASP.NET Core's <c>TraceIdentifier</c>, the <c>RequestId</c> of the request log); null for background work.</param>
public sealed record AuditActor(string Principal, string? RemoteAddress, string? RequestId)
{
    /// <summary>The principal of requests without token auth.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>The longest principal, address and request id stored; longer values are cut.</summary>
    public const int MaxFieldLength = 255;

    /// <summary>Background work of <paramref name="component"/> (e.g. <c>resigner</c>, <c>retention</c>, <c>import</c>): principal <c>system:&lt;component&gt;</c>.</summary>
    public static AuditActor System(string component) => new("system:" + component, null, null);
}

/// <summary>
/// What a write records in the audit log, in its own transaction: the action and who did it. Passed to
/// <see cref="IMetadataStore.CommitAsync(string, ExpectedTimestamp, IReadOnlyList{TrustServer.Tuf.Validation.MetadataFile}, AuditContext, CancellationToken)"/> and <see cref="IMetadataStore.DeleteAsync"/>.
/// </summary>
/// <param name="Action">One of <see cref="AuditActions"/>.</param>
/// <param name="Actor">Who.</param>
/// <param name="Detail">Optional note stored with the entry (at most <see cref="AuditEntry.MaxDetailLength"/> characters are kept).</param>
public sealed record AuditContext(string Action, AuditActor Actor, string? Detail = null);

/// <summary>One audit log entry as written by <see cref="IAuditLog.RecordAsync(AuditEntry, CancellationToken)"/> (refused attempts, key events).</summary>
/// <param name="Action">One of <see cref="AuditActions"/>.</param>
/// <param name="Outcome">One of <see cref="AuditOutcomes"/>.</param>
/// <param name="Actor">Who.</param>
/// <param name="Gun">The repository.</param>
/// <param name="Files">Roles and versions (<c>role@version</c>, comma-separated), a role alone, or empty.</param>
/// <param name="Detail">Why it was refused or failed, or a key id; null when nothing.</param>
public sealed record AuditEntry(string Action, string Outcome, AuditActor Actor, string Gun, string Files, string? Detail)
{
    /// <summary>The longest detail stored; longer text is cut.</summary>
    public const int MaxDetailLength = 1024;

    /// <summary><c>role@version</c> of each file, comma-separated, in the given order.</summary>
    public static string Describe(IEnumerable<(string Role, long Version)> files) =>
        string.Join(',', files.Select(f => f.Role + "@" + f.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>A stored audit log entry.</summary>
/// <param name="Id">Position in the log (grows with every entry).</param>
/// <param name="Time">When it was written (UTC).</param>
/// <param name="Entry">What was recorded.</param>
public sealed record AuditRecord(long Id, DateTimeOffset Time, AuditEntry Entry);

/// <summary>Filters of <see cref="IAuditLog.QueryAsync"/>; null = any.</summary>
/// <param name="Gun">Exactly this repository.</param>
/// <param name="Principal">Exactly this principal.</param>
/// <param name="Action">Exactly this action.</param>
/// <param name="From">At or after this time.</param>
/// <param name="To">Before this time.</param>
public sealed record AuditQuery(string? Gun = null, string? Principal = null, string? Action = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>
/// The audit log (<c>audit_log</c>) outside the writes of <see cref="IMetadataStore"/>, which record their own entry in
/// their transaction. Append-only: the only deletion is retention (<see cref="DeleteOlderThanAsync"/>); there is no update.
/// </summary>
public interface IAuditLog
{
    /// <summary>
    /// Logs the entry (structured log) and appends it in a transaction of its own: for refused or failed attempts,
    /// which change nothing, and for key events, whose change lives in the key store. Throws when the database fails
    /// (the log line is written first).
    /// </summary>
    Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="RecordAsync(AuditEntry, CancellationToken)"/>, and in the same transaction the outbox rows of
    /// <paramref name="webhook"/> (key events: their change is committed by the signer's store, so the event is written
    /// with the audit entry, right after it). Null: no event.
    /// </summary>
    Task RecordAsync(AuditEntry entry, Webhooks.WebhookEvent? webhook, CancellationToken cancellationToken = default);

    /// <summary>Entries matching <paramref name="query"/>, newest first, and how many match.</summary>
    Task<Page<AuditRecord>> QueryAsync(AuditQuery query, int skip, int take, CancellationToken cancellationToken = default);

    /// <summary>
    /// Retention only: deletes up to <paramref name="batchSize"/> of the oldest entries written before
    /// <paramref name="cutoff"/>, in one statement; returns how many were deleted (0 when none are left).
    /// </summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken = default);
}
