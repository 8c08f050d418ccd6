using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using TrustServer.Data.Webhooks;
using TrustServer.Server.Webhooks;

namespace TrustServer.Server.Admin;

/// <summary>
/// <c>/api/admin/v1/webhooks/…</c>: the configured endpoints (never their secrets), the outbox events and every
/// delivery attempt (status code, error, time, duration, next attempt). RFC 7807 errors.
/// </summary>
internal static class WebhookAdminEndpoints
{
    public static RouteGroupBuilder MapWebhookAdminEndpoints(this RouteGroupBuilder group)
    {
        group.MapGet("/webhooks/endpoints", GetEndpoints)
            .WithName("GetWebhookEndpoints").WithSummary("The configured webhook endpoints (URL without query, events, GUN pattern; never the secret) and whether this replica delivers.");
        group.MapGet("/webhooks/events", ListEventsAsync)
            .WithName("ListWebhookEvents").WithSummary("Webhook events in the outbox, newest first, optionally of one status (pending, delivered, failed) and/or GUN.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/webhooks/events/{id}", GetEventAsync)
            .WithName("GetWebhookEvent").WithSummary("One webhook event: its state, the exact payload sent, and every delivery attempt (oldest first).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    private static Ok<WebhookEndpointList> GetEndpoints(WebhookComposer composer, WebhookDispatcher dispatcher) =>
        TypedResults.Ok(new WebhookEndpointList(
            [.. composer.Endpoints.Select((e, i) => new WebhookEndpointItem(i, e.DisplayUrl, e.Events, e.GunPattern))], dispatcher.Delivering));

    private static async Task<Results<Ok<PagedResponse<WebhookEventItem>>, ProblemHttpResult>> ListEventsAsync(
        IWebhookOutbox outbox, CancellationToken cancellationToken, string? status = null, string? gun = null, int page = 1, int pageSize = 50)
    {
        if (AdminEndpoints.PagingProblem(page, pageSize) is { } problem)
        {
            return problem;
        }

        if (!string.IsNullOrEmpty(status) && status is not (WebhookStatuses.Pending or WebhookStatuses.Delivered or WebhookStatuses.Failed))
        {
            return ApiProblems.Problem(StatusCodes.Status400BadRequest, "Invalid parameter", "'status' must be pending, delivered or failed.");
        }

        var result = await outbox.QueryAsync(string.IsNullOrEmpty(status) ? null : status, string.IsNullOrEmpty(gun) ? null : gun, (page - 1) * pageSize, pageSize, cancellationToken);
        return TypedResults.Ok(new PagedResponse<WebhookEventItem>([.. result.Items.Select(Item)], page, pageSize, result.Total));
    }

    private static async Task<Results<Ok<WebhookEventDetail>, ProblemHttpResult>> GetEventAsync(IWebhookOutbox outbox, string id, CancellationToken cancellationToken)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            return ApiProblems.Problem(StatusCodes.Status400BadRequest, "Invalid parameter", "The event id must be a positive integer.");
        }

        if (await outbox.GetAsync(number, cancellationToken) is not { } found)
        {
            return ApiProblems.Problem(StatusCodes.Status404NotFound, "Unknown webhook event", $"No webhook event {number} is in the outbox (delivered and failed events are deleted after Webhooks:KeepDays).");
        }

        using var payload = JsonDocument.Parse(found.Event.Payload);
        return TypedResults.Ok(new WebhookEventDetail(
            Item(found.Event),
            payload.RootElement.Clone(),
            [.. found.Attempts.Select(a => new WebhookAttemptItem(a.AttemptedAt, a.DurationMs, a.StatusCode, a.Error, a.NextAttemptAt))]));
    }

    private static WebhookEventItem Item(WebhookOutboxRecord e) => new(
        e.Id, e.EventId, e.EventType, e.Gun, WebhookEndpoint.Display(e.EndpointUrl), e.Status, e.CreatedAt, e.Attempts,
        e.Status == WebhookStatuses.Pending ? e.NextAttemptAt : null, e.CompletedAt, e.LastStatusCode, e.LastError);
}

/// <summary>The configured webhook endpoints.</summary>
/// <param name="Endpoints">In configuration order.</param>
/// <param name="Delivering">Whether this replica holds the webhooks lease (delivers) now.</param>
public sealed record WebhookEndpointList(IReadOnlyList<WebhookEndpointItem> Endpoints, bool Delivering);

/// <summary>A configured webhook endpoint; the secret is never shown.</summary>
/// <param name="Index">Its index i in Webhooks:Endpoints:i.</param>
/// <param name="Url">The URL without query or fragment.</param>
/// <param name="Events">The event types it receives.</param>
/// <param name="GunPattern">The repositories it receives events of; null = all.</param>
public sealed record WebhookEndpointItem(int Index, string Url, IReadOnlyList<string> Events, string? GunPattern);

/// <summary>A webhook event for one endpoint.</summary>
/// <param name="Id">Outbox id (orders the events of one endpoint and GUN).</param>
/// <param name="EventId">The CloudEvents id (the same for every endpoint of one event).</param>
/// <param name="Type">published, deleted, key-rotated or expiring.</param>
/// <param name="Gun">The repository.</param>
/// <param name="Endpoint">The endpoint's URL without query or fragment.</param>
/// <param name="Status">pending, delivered or failed (given up).</param>
/// <param name="CreatedAt">When it was written (the change's commit).</param>
/// <param name="Attempts">Delivery attempts so far.</param>
/// <param name="NextAttemptAt">When a pending event is tried next; null otherwise.</param>
/// <param name="CompletedAt">When it was delivered or given up.</param>
/// <param name="LastStatusCode">The HTTP status of the last attempt (null: no response).</param>
/// <param name="LastError">Why the last attempt failed.</param>
public sealed record WebhookEventItem(
    long Id, string EventId, string Type, string Gun, string Endpoint, string Status, DateTimeOffset CreatedAt, int Attempts,
    DateTimeOffset? NextAttemptAt, DateTimeOffset? CompletedAt, int? LastStatusCode, string? LastError);

/// <summary>A webhook event with its payload and attempts.</summary>
/// <param name="Event">The event.</param>
/// <param name="Payload">The exact CloudEvents JSON sent (and signed).</param>
/// <param name="Attempts">Every delivery attempt, oldest first.</param>
public sealed record WebhookEventDetail(WebhookEventItem Event, JsonElement Payload, IReadOnlyList<WebhookAttemptItem> Attempts);

/// <summary>One delivery attempt.</summary>
/// <param name="AttemptedAt">When it started.</param>
/// <param name="DurationMs">How long it took, in milliseconds.</param>
/// <param name="StatusCode">The endpoint's HTTP status (null: no response: refused, timed out).</param>
/// <param name="Error">Why it failed (null: delivered).</param>
/// <param name="NextAttemptAt">When the next attempt was scheduled (null: delivered or given up).</param>
public sealed record WebhookAttemptItem(DateTimeOffset AttemptedAt, int DurationMs, int? StatusCode, string? Error, DateTimeOffset? NextAttemptAt);
