namespace TrustServer.Data.Model;

/// <summary>
/// A row of <c>audit_log</c>: one change of state (or refused attempt) of a repository or its keys. Rows are only
/// ever inserted; the one deletion path is the audit log's own retention (<see cref="EfAuditLog.DeleteOlderThanAsync"/>).
/// </summary>
internal sealed class AuditEntity
{
    /// <summary>Identity primary key; orders the log.</summary>
    public long Id { get; set; }

    /// <summary>When the entry was written, UTC, microsecond precision (the commit's time for a change).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>What was done (<see cref="AuditActions"/>).</summary>
    public required string Action { get; set; }

    /// <summary>How it ended (<see cref="AuditOutcomes"/>).</summary>
    public required string Outcome { get; set; }

    /// <summary>Who: the token subject, <c>anonymous</c>, or <c>system:&lt;component&gt;</c>.</summary>
    public required string Principal { get; set; }

    /// <summary>The client's address (null for background work).</summary>
    public string? RemoteAddress { get; set; }

    /// <summary>The request's identifier (null for background work).</summary>
    public string? RequestId { get; set; }

    /// <summary>The repository (GUN).</summary>
    public required string Gun { get; set; }

    /// <summary>Roles and versions, <c>role@version</c> comma-separated (a role alone for key events); empty when none.</summary>
    public required string Files { get; set; }

    /// <summary>Why it was refused or failed, or what else is worth knowing (a key id); null when nothing.</summary>
    public string? Detail { get; set; }
}
