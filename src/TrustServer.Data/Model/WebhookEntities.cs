namespace TrustServer.Data.Model;

/// <summary>
/// A row of <c>webhook_outbox</c>: one event for one endpoint, written in the transaction of the change it announces
/// (the transactional outbox). Delivered in <see cref="Id"/> order per (endpoint, GUN).
/// </summary>
internal sealed class WebhookOutboxEntity
{
    /// <summary>Identity primary key; orders the events of one (endpoint, GUN).</summary>
    public long Id { get; set; }

    /// <summary>When the event was written (the change's commit time), UTC.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The CloudEvents <c>id</c> (the same for every endpoint of one event).</summary>
    public required string EventId { get; set; }

    /// <summary><c>published</c>, <c>deleted</c>, <c>key-rotated</c> or <c>expiring</c>.</summary>
    public required string EventType { get; set; }

    /// <summary>The repository.</summary>
    public required string Gun { get; set; }

    /// <summary>The endpoint's configured URL (<c>Webhooks:Endpoints:&lt;i&gt;:Url</c>); the secret is never stored.</summary>
    public required string EndpointUrl { get; set; }

    /// <summary>The exact body sent (CloudEvents structured-mode JSON); the signature is computed over these bytes.</summary>
    public required byte[] Payload { get; set; }

    /// <summary><c>pending</c>, <c>delivered</c> or <c>failed</c> (dead-lettered).</summary>
    public required string Status { get; set; }

    /// <summary>Delivery attempts so far.</summary>
    public int Attempts { get; set; }

    /// <summary>When a pending event may be tried next, UTC.</summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>When it was delivered or given up, UTC.</summary>
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>The HTTP status of the last attempt (null when no response).</summary>
    public int? LastStatusCode { get; set; }

    /// <summary>Why the last attempt failed (null when it succeeded or none was made).</summary>
    public string? LastError { get; set; }
}

/// <summary>A row of <c>webhook_attempts</c>: one delivery attempt of an outbox event.</summary>
internal sealed class WebhookAttemptEntity
{
    /// <summary>Identity primary key.</summary>
    public long Id { get; set; }

    /// <summary>The outbox event (<see cref="WebhookOutboxEntity.Id"/>).</summary>
    public long OutboxId { get; set; }

    /// <summary>When the attempt started, UTC.</summary>
    public DateTimeOffset AttemptedAt { get; set; }

    /// <summary>How long it took, in milliseconds.</summary>
    public int DurationMs { get; set; }

    /// <summary>The response's HTTP status (null when there was no response).</summary>
    public int? StatusCode { get; set; }

    /// <summary>Why it failed; null when the endpoint answered 2xx.</summary>
    public string? Error { get; set; }

    /// <summary>When the next attempt is due (null when delivered or given up).</summary>
    public DateTimeOffset? NextAttemptAt { get; set; }
}

/// <summary>
/// A row of <c>webhook_expiry_notices</c>: an <c>expiring</c> event was written for this (repository, role, expiry,
/// window). The primary key makes every replica's expiry scan announce a crossing once.
/// </summary>
internal sealed class WebhookExpiryNoticeEntity
{
    /// <summary>The repository.</summary>
    public required string Gun { get; set; }

    /// <summary>The role.</summary>
    public required string Role { get; set; }

    /// <summary>The role file's expiry.</summary>
    public DateTimeOffset Expires { get; set; }

    /// <summary>The window crossed: <c>30d</c>, <c>7d</c> or <c>expired</c>.</summary>
    public required string Within { get; set; }

    /// <summary>When it was announced, UTC.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}
