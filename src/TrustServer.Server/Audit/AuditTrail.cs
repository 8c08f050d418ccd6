using System.Net;
using TrustServer.Data;

namespace TrustServer.Server.Audit;

/// <summary>
/// The server's side of the audit log: who a request is (<see cref="ActorOf"/>), and the entries that are not part of
/// a metadata commit — refused or failed attempts and key events — written best effort: when the database cannot
/// take the entry, the structured log still has it (event 2070) and a warning says the row is missing.
/// </summary>
internal sealed partial class AuditTrail(IAuditLog log, ILogger<AuditTrail> logger)
{
    /// <summary>
    /// The actor of a request: the token subject (<c>sub</c>) when token auth authenticated it, else
    /// <see cref="AuditActor.Anonymous"/>; the peer's IP address (IPv4 when mapped into IPv6); the request's
    /// <see cref="HttpContext.TraceIdentifier"/>, which is also the <c>RequestId</c> of the request log.
    /// </summary>
    public static AuditActor ActorOf(HttpContext context)
    {
        var subject = context.User.FindFirst("sub")?.Value;
        var address = context.Connection.RemoteIpAddress is IPAddress ip ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString() : null;
        return new AuditActor(string.IsNullOrEmpty(subject) ? AuditActor.Anonymous : subject, address, context.TraceIdentifier);
    }

    /// <summary>
    /// Appends <paramref name="entry"/> (and the outbox rows of <paramref name="webhook"/>, if any) in a transaction of
    /// its own; a database failure is logged, not thrown.
    /// </summary>
    public async Task RecordAsync(AuditEntry entry, Data.Webhooks.WebhookEvent? webhook = null)
    {
        try
        {
            // Not the request's token: the attempt is recorded even when the client has gone. The webhook event's
            // outbox rows go in the entry's transaction.
            await log.RecordAsync(entry, webhook, CancellationToken.None);
        }
        catch (Exception e) when (StorageErrors.IsDatabaseFailure(e))
        {
            LogNotRecorded(entry.Action, entry.Outcome, entry.Gun, e);
        }
    }

    [LoggerMessage(EventId = 1800, Level = LogLevel.Warning, Message = "Audit entry {Action} {Outcome} of {Gun} could not be stored (it is in the log only)")]
    private partial void LogNotRecorded(string action, string outcome, string gun, Exception exception);
}
