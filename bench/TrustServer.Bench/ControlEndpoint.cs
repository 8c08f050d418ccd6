using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TrustServer.Bench;

/// <summary>
/// C0, the control endpoint: the least an ASP.NET Core server can do for a GET — Kestrel over TLS returning fixed
/// bytes from memory (<c>GET /c0/{size}</c> answers <c>size</c> bytes, with the same content type and a
/// Cache-Control header like the metadata routes). Its req/s is the ceiling TrustServer is compared with.
/// Runs as its own process: <c>TrustServer.Bench c0 --port P --cert F --key F</c>.
/// </summary>
internal static class ControlEndpoint
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? port = null, certificate = null, key = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--port":
                    port = args[i + 1];
                    break;
                case "--cert":
                    certificate = args[i + 1];
                    break;
                case "--key":
                    key = args[i + 1];
                    break;
                default:
                    break;
            }
        }

        if (port is null || certificate is null || key is null)
        {
            await Console.Error.WriteLineAsync("usage: c0 --port <port> --cert <pem> --key <pem>");
            return 2;
        }

        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        using var serverCertificate = X509Certificate2.CreateFromPemFile(certificate, key);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, int.Parse(port, CultureInfo.InvariantCulture), listen => listen.UseHttps(serverCertificate)));
        await using var app = builder.Build();

        var bodies = new ConcurrentDictionary<int, byte[]>();
        app.MapGet("/c0/{size:int:range(0,10000000)}", (int size, HttpResponse response) =>
        {
            response.Headers.CacheControl = "public, max-age=300, s-maxage=300, must-revalidate";
            return TypedResults.Bytes(bodies.GetOrAdd(size, n => Enumerable.Repeat((byte)'x', n).ToArray()), "text/plain; charset=utf-8");
        });
        await app.RunAsync();
        return 0;
    }
}
