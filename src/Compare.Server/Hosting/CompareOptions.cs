namespace Compare.Server.Hosting;

/// <summary>Request limits, bound from the "Limits" configuration section.</summary>
public sealed class LimitOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Limits";

    /// <summary>Largest document text, in UTF-8 bytes. Default 10 MB.</summary>
    public int MaxDocumentBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Most documents in one UpsertDocuments message.</summary>
    public int MaxBatchDocuments { get; set; } = 10_000;

    /// <summary>Largest request message; gRPC's default of 4 MB is too small for batch ingest.</summary>
    public int MaxReceiveMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Largest top_k of FindSimilar.</summary>
    public int MaxTopK { get; set; } = 1000;

    /// <summary>top_k when a request leaves it 0.</summary>
    public int DefaultTopK { get; set; } = 10;

    /// <summary>Largest page_size of ListDocuments.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>page_size when a request leaves it 0.</summary>
    public int DefaultPageSize { get; set; } = 100;
}

/// <summary>Where documents live, bound from the "Storage" configuration section.</summary>
public sealed class StorageOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Storage";

    /// <summary>The store implementation. Only "Memory" exists so far.</summary>
    public string Provider { get; set; } = "Memory";

    /// <summary>Data directory of on-disk stores.</summary>
    public string Path { get; set; } = "./data";
}
