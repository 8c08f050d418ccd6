namespace TrustServer.Tuf; internal static class Placeholder { }
