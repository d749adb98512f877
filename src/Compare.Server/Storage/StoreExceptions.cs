namespace Compare.Server.Storage;

/// <summary>Base of the store's expected failures.</summary>
public abstract class StoreException(string message) : Exception(message);

/// <summary>No collection of that name.</summary>
public sealed class CollectionNotFoundException(string name) : StoreException($"Collection '{name}' does not exist.")
{
    /// <summary>The missing collection.</summary>
    public string Name { get; } = name;
}

/// <summary>A collection of that name already exists.</summary>
public sealed class CollectionExistsException(string name) : StoreException($"Collection '{name}' already exists.")
{
    /// <summary>The existing collection.</summary>
    public string Name { get; } = name;
}

/// <summary>The collection was replaced by another of the same name while a call was working; the call can be retried.</summary>
public sealed class CollectionChangedException(string name) : StoreException($"Collection '{name}' was deleted and recreated during the call; retry it.")
{
    /// <summary>The collection.</summary>
    public string Name { get; } = name;
}

/// <summary>
/// A stored document that cannot be served as it was written: its text fails its content hash, or its sketch cannot be
/// read. Only that document is affected; an upsert of its text rewrites it.
/// </summary>
public sealed class DocumentDamagedException(string id, string reason)
    : StoreException($"Document '{id}' is damaged in the store: {reason}. Upsert its text again to repair it, or delete it.")
{
    /// <summary>The damaged document.</summary>
    public string Id { get; } = id;

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; } = reason;
}

/// <summary>The store's disk is full: nothing of the write was stored, and writes can succeed again once space is freed.</summary>
public sealed class StoreFullException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The store cannot serve calls for now (loading, or its backing server is unreachable); the call can be retried.</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Another writer took the collection's write lock before this one committed; nothing was written and the call can be retried.</summary>
public sealed class WriteConflictException(string name) : StoreException($"Collection '{name}' was written by another replica at the same time; retry the call.")
{
    /// <summary>The collection.</summary>
    public string Name { get; } = name;
}

/// <summary>The data on disk was written by an incompatible format version, or is not Compare's.</summary>
public sealed class StoreFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Another server holds the data directory.</summary>
public sealed class DataDirectoryInUseException(string message, Exception? inner = null) : Exception(message, inner);
