using System.Collections.Concurrent;
using System.Net.Mime;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TrustServer.Compat.Tests.Support;

/// <summary>One webhook request a <see cref="WebhookReceiver"/> got, decoded and checked as a receiver would.</summary>
/// <param name="Path">The request path.</param>
/// <param name="SignatureValid">Whether <c>X-TrustServer-Signature</c> is the HMAC-SHA256 of the exact body under the secret.</param>
/// <param name="Event">The CloudEvent decoded from the body.</param>
/// <param name="Data">Its data.</param>
/// <param name="Attempt">The <c>X-TrustServer-Delivery-Attempt</c> header.</param>
public sealed record ReceivedWebhook(string Path, bool SignatureValid, CloudEvent Event, JsonElement Data, int Attempt)
{
    /// <summary>The event type without the <c>io.trustserver.</c> prefix.</summary>
    public string Type => Event.Type!["io.trustserver.".Length..];

    /// <summary>data.gun.</summary>
    public string Gun => Data.GetProperty("gun").GetString()!;
}

/// <summary>
/// A real HTTP receiver (Kestrel on 127.0.0.1) that verifies the signature over the exact body bytes, decodes the
/// CloudEvent with the CloudEvents SDK, records each request, and answers what <see cref="Respond"/> says (200 by default).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Base URL.</summary>
    public string Url { get; }

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<ReceivedWebhook> Received { get; } = new();

    /// <summary>The status to answer (after recording); may wait.</summary>
    public Func<ReceivedWebhook, Task<int>> Respond { get; set; } = _ => Task.FromResult(200);

    /// <summary>Starts a receiver on <paramref name="port"/> (0: any free port) checking signatures with <paramref name="secret"/>.</summary>
    public static async Task<WebhookReceiver> StartAsync(string secret, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        var key = Encoding.UTF8.GetBytes(secret);
        var formatter = new JsonEventFormatter();
        app.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();

            // What a receiver does: HMAC-SHA256 over the exact bytes, compared in constant time.
            var expected = Encoding.ASCII.GetBytes("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, body)));
            var given = Encoding.ASCII.GetBytes(context.Request.Headers["X-TrustServer-Signature"].ToString());
            var valid = CryptographicOperations.FixedTimeEquals(expected, given);

            var cloudEvent = formatter.DecodeStructuredModeMessage(body, new ContentType(context.Request.ContentType!), null);
            var data = ((JsonElement)cloudEvent.Data!).Clone();
            var received = new ReceivedWebhook(
                context.Request.Path, valid, cloudEvent, data, int.Parse(context.Request.Headers["X-TrustServer-Delivery-Attempt"].ToString(), System.Globalization.CultureInfo.InvariantCulture));
            receiver!.Received.Enqueue(received);
            return Results.StatusCode(await receiver.Respond(received));
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver = new WebhookReceiver(app, address);
        return receiver;
    }

    /// <summary>The requests of <paramref name="gun"/>, in arrival order.</summary>
    public List<ReceivedWebhook> Of(string gun) => [.. Received.Where(r => r.Gun == gun)];

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
