using Microsoft.Extensions.Logging;

namespace TrustServer.Data;

/// <summary>The structured-log form of audit log entries (event 2070), written once per entry; never carries tokens.</summary>
internal static partial class AuditEvents
{
    /// <summary>Logs <paramref name="entry"/>: Information when it succeeded, Warning otherwise.</summary>
    public static void Write(ILogger logger, AuditEntry entry)
    {
        var level = entry.Outcome == AuditOutcomes.Succeeded ? LogLevel.Information : LogLevel.Warning;
        Audit(logger, level, entry.Action, entry.Outcome, entry.Gun, entry.Files, entry.Actor.Principal, entry.Actor.RemoteAddress, entry.Actor.RequestId, entry.Detail);
    }

    [LoggerMessage(EventId = 2070, Message = "Audit: {Action} of {Gun} {Outcome} ({Files}) by {Principal} from {RemoteAddress}, request {RequestId}: {Detail}")]
    private static partial void Audit(
        ILogger logger, LogLevel level, string action, string outcome, string gun, string files, string principal, string? remoteAddress, string? requestId, string? detail);

    [LoggerMessage(EventId = 2071, Level = LogLevel.Information, Message = "Audit retention deleted {Count} entries written before {Cutoff}")]
    public static partial void RetentionDeleted(ILogger logger, int count, DateTimeOffset cutoff);
}
