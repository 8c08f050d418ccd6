using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TrustServer.Compat.Tests.Support;

/// <summary>HTTP/1.1 requests written byte for byte, for request targets HttpClient would normalize.</summary>
public static class RawHttp
{
    /// <summary>
    /// Sends one request with <paramref name="target"/> as is in the request line (HttpClient would unescape or remove
    /// dot segments; <paramref name="headers"/>: extra lines, each ending in CRLF) and reads the answer.
    /// </summary>
    public static async Task<(int Status, string? Location, string Body, string[] Headers)> SendAsync(int port, string target, string? headers = null, string method = "GET")
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var stream = client.GetStream();
        var request = $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Connection: close\r\nContent-Length: 0\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new MemoryStream();
        await stream.CopyToAsync(reader).WaitAsync(TimeSpan.FromSeconds(30));
        var response = Encoding.UTF8.GetString(reader.ToArray());
        var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = response[..split].Split("\r\n");
        var status = int.Parse(head[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var location = head.FirstOrDefault(h => h.StartsWith("Location:", StringComparison.OrdinalIgnoreCase))?["Location:".Length..].Trim();
        var body = response[(split + 4)..];
        if (head.Any(h => h.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)))
        {
            body = Dechunk(body);
        }

        return (status, location, body, head[1..]);
    }

    private static string Dechunk(string chunked)
    {
        var body = new StringBuilder();
        var rest = chunked;
        while (true)
        {
            var end = rest.IndexOf("\r\n", StringComparison.Ordinal);
            var size = Convert.ToInt32(rest[..end].Split(';')[0], 16);
            if (size == 0)
            {
                return body.ToString();
            }

            body.Append(rest, end + 2, size);
            rest = rest[(end + 2 + size + 2)..];
        }
    }
}
