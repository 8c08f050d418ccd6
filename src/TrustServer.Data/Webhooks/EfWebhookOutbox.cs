using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using TrustServer.Data.Model;
using TrustServer.Data.Providers;

namespace TrustServer.Data.Webhooks;

/// <summary><see cref="IWebhookOutbox"/> on EF Core, in the metadata database.</summary>
internal sealed partial class EfWebhookOutbox(
    IMetadataDbContextFactory contexts, StorageProvider provider, IWebhookComposer? webhooks, ILogger<EfWebhookOutbox> logger) : IWebhookOutbox
{
    private readonly StorageDialect _dialect = StorageDialect.For(provider);

    public async Task<IReadOnlyList<WebhookOutboxRecord>> GetDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var due = now.ToUniversalTime();
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.WebhookOutbox.AsNoTracking()
            .Where(o => o.Status == WebhookStatuses.Pending && o.NextAttemptAt <= due
                && !db.WebhookOutbox.Any(p => p.Status == WebhookStatuses.Pending && p.EndpointUrl == o.EndpointUrl && p.Gun == o.Gun && p.Id < o.Id))
            .OrderBy(o => o.Id)
            .Take(max)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(ToRecord)];
    }

    public async Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var next = await db.WebhookOutbox.AsNoTracking()
            .Where(o => o.Status == WebhookStatuses.Pending)
            .OrderBy(o => o.NextAttemptAt)
            .Select(o => new { o.NextAttemptAt })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return next?.NextAttemptAt;
    }

    public async Task RecordAttemptAsync(long id, WebhookAttempt attempt, string status, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var row = await db.WebhookOutbox.SingleOrDefaultAsync(o => o.Id == id, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return; // pruned or never there: nothing to record against
        }

        var error = Cut(attempt.Error);
        row.Attempts++;
        row.Status = status;
        row.LastStatusCode = attempt.StatusCode;
        row.LastError = error;
        if (status == WebhookStatuses.Pending)
        {
            row.NextAttemptAt = attempt.NextAttemptAt ?? attempt.AttemptedAt;
        }
        else
        {
            row.CompletedAt = attempt.AttemptedAt.AddMilliseconds(attempt.DurationMs);
        }

        db.WebhookAttempts.Add(new WebhookAttemptEntity
        {
            OutboxId = id,
            AttemptedAt = attempt.AttemptedAt,
            DurationMs = attempt.DurationMs,
            StatusCode = attempt.StatusCode,
            Error = error,
            NextAttemptAt = status == WebhookStatuses.Pending ? row.NextAttemptAt : null,
        });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false); // one implicit transaction
    }

    public async Task<long> CountPendingAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        return await db.WebhookOutbox.LongCountAsync(o => o.Status == WebhookStatuses.Pending, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Page<WebhookOutboxRecord>> QueryAsync(string? status, string? gun, int skip, int take, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var rows = db.WebhookOutbox.AsNoTracking();
        if (status is not null)
        {
            rows = rows.Where(o => o.Status == status);
        }

        if (gun is not null)
        {
            rows = rows.Where(o => o.Gun == gun);
        }

        var total = await rows.LongCountAsync(cancellationToken).ConfigureAwait(false);
        var page = await rows.OrderByDescending(o => o.Id).Skip(skip).Take(take).ToListAsync(cancellationToken).ConfigureAwait(false);
        return new Page<WebhookOutboxRecord>([.. page.Select(ToRecord)], total);
    }

    public async Task<(WebhookOutboxRecord Event, IReadOnlyList<WebhookAttempt> Attempts)?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var row = await db.WebhookOutbox.AsNoTracking().SingleOrDefaultAsync(o => o.Id == id, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var attempts = await db.WebhookAttempts.AsNoTracking().Where(a => a.OutboxId == id).OrderBy(a => a.Id)
            .Select(a => new WebhookAttempt(a.AttemptedAt, a.DurationMs, a.StatusCode, a.Error, a.NextAttemptAt))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return (ToRecord(row), attempts);
    }

    public async Task<int> AnnounceExpiringAsync(IReadOnlyList<ExpiryCrossing> crossings, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(crossings);
        if (webhooks is null || !webhooks.Wants(WebhookEventTypes.Expiring))
        {
            return 0;
        }

        var time = now.ToUniversalTime();
        var announced = 0;
        foreach (var crossing in crossings)
        {
            await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
            var expires = crossing.Expires.ToUniversalTime();
            if (await db.WebhookExpiryNotices.AnyAsync(
                n => n.Gun == crossing.Gun && n.Role == crossing.Role && n.Expires == expires && n.Within == crossing.Within, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            db.WebhookExpiryNotices.Add(new WebhookExpiryNoticeEntity { Gun = crossing.Gun, Role = crossing.Role, Expires = expires, Within = crossing.Within, CreatedAt = time });
            var messages = webhooks.Compose(new WebhookEvent(
                WebhookEventTypes.Expiring, crossing.Gun, [new WebhookRole(crossing.Role, crossing.Version, expires)], null, AuditActor.System("expiry"), time, Within: crossing.Within));
            db.AddWebhookMessages(WebhookEventTypes.Expiring, crossing.Gun, messages, time);
            try
            {
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false); // notice and events in one transaction
            }
            catch (DbUpdateException e) when (_dialect.IsUniqueViolation(e))
            {
                continue; // another replica's scan announced it first
            }

            announced++;
            LogAnnounced(crossing.Gun, crossing.Role, crossing.Within, messages.Count);
        }

        if (announced > 0)
        {
            webhooks.Committed();
        }

        return announced;
    }

    public async Task<int> PruneAsync(DateTimeOffset cutoff, DateTimeOffset noticeCutoff, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var before = cutoff.ToUniversalTime();
        var noticesBefore = noticeCutoff.ToUniversalTime();
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var ids = await db.WebhookOutbox.AsNoTracking()
            .Where(o => o.Status != WebhookStatuses.Pending && o.CompletedAt < before)
            .OrderBy(o => o.Id).Take(batchSize).Select(o => o.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (ids.Count > 0)
        {
            await db.WebhookAttempts.Where(a => ids.Contains(a.OutboxId)).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            await db.WebhookOutbox.Where(o => ids.Contains(o.Id)).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await db.WebhookExpiryNotices.Where(n => n.Expires < noticesBefore).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ids.Count;
    }

    private static WebhookOutboxRecord ToRecord(WebhookOutboxEntity o) => new(
        o.Id, o.CreatedAt, o.EventId, o.EventType, o.Gun, o.EndpointUrl, o.Status, o.Attempts, o.NextAttemptAt, o.CompletedAt, o.LastStatusCode, o.LastError, o.Payload);

    private static string? Cut(string? value) =>
        value is null || value.Length <= MetadataDbContext.WebhookErrorMaxLength ? value : value[..MetadataDbContext.WebhookErrorMaxLength];

    [LoggerMessage(EventId = 2030, Level = LogLevel.Information, Message = "Webhook event expiring ({Within}) of {Role} of {Gun} written for {Endpoints} endpoints")]
    private partial void LogAnnounced(string gun, string role, string within, int endpoints);
}
